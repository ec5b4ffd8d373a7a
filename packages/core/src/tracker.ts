import { formatSeconds } from "@hb/config";
import type { AttemptOutcome, AttemptRecord, AttemptResult, StateChange } from "./ports.js";
import type { TargetState } from "./states.js";

export interface TrackerSettings {
  readonly tries: number;
  readonly attemptDeadlineMs: number;
  /** Successful attempts slower than this are `slow`. */
  readonly slowThresholdMs: number;
  /** Heartbeat age above which neighbours call the host DEAD. */
  readonly neighbourThresholdMs: number;
  readonly historySize: number;
  /** Upstream's policy: no start-up grace. */
  readonly armedFromStart?: boolean;
  /**
   * The decision bound: the most time from the last good heartbeat to a fence decision
   * (deriveTiming's decisionLatestMs). An armed target that could not check for its own
   * reasons for this long goes dead. Undefined: no bound (inconclusive forever).
   */
  readonly decisionBoundMs?: number;
}

export interface TryResult {
  readonly seq: number;
  readonly round: number;
  readonly try: number;
  readonly startedAtMs: number;
  readonly endedAtMs: number;
  /** undefined: the deadline passed first. */
  readonly outcome: AttemptOutcome | undefined;
}

export interface FoldResult {
  readonly change: StateChange | undefined;
  /** All tries of the round failed on an armed target: a decision is due. */
  readonly enteredDead: boolean;
  /** All tries failed, but the target never succeeded: no decision (start-up grace). */
  readonly withheld?: string | undefined;
  /** Dead because hb could not check for its own reasons past the decision bound. */
  readonly ownFault?: boolean;
}

/**
 * The state of one target, folded from attempt results. Pure: no clock, no I/O, so the same
 * folding runs in the daemon, in tests and in simulation.
 */
export class TargetTracker {
  state: TargetState | null = null;
  /** Armed once an attempt succeeded: before that, a failing target never fences (issue 11586). */
  armed = false;
  lastSuccessAtMs: number | undefined;
  /** An inconclusive attempt came since the last success: hb's own fault has held the tries back. */
  private inconclusiveSinceSuccess = false;
  private readonly attempts: AttemptRecord[] = [];
  private readonly changes: StateChange[] = [];

  constructor(
    readonly id: string,
    private settings: TrackerSettings,
  ) {}

  reconfigure(settings: TrackerSettings): void {
    this.settings = settings;
  }

  get history(): readonly StateChange[] {
    return this.changes;
  }

  get recentAttempts(): readonly AttemptRecord[] {
    return this.attempts;
  }

  fold(result: TryResult): FoldResult {
    const { settings } = this;
    const latencyMs = result.endedAtMs - result.startedAtMs;
    // Whole milliseconds in words; the records keep the exact value.
    const ms = Math.round(latencyMs);
    const outcome = result.outcome;
    const attemptResult: AttemptResult = outcome === undefined ? "timeout" : outcome.ok ? "ok" : outcome.reason;
    const message =
      outcome === undefined ? `no answer within ${settings.attemptDeadlineMs} ms` : outcome.ok ? (outcome.impairment ?? "written") : outcome.message;
    this.remember({ seq: result.seq, round: result.round, try: result.try, startedAtMs: result.startedAtMs, latencyMs, result: attemptResult, message });

    if (outcome?.ok) {
      const gap = this.lastSuccessAtMs === undefined ? 0 : Math.round(result.endedAtMs - this.lastSuccessAtMs);
      this.lastSuccessAtMs = result.endedAtMs;
      this.armed = true;
      this.inconclusiveSinceSuccess = false;
      const seenDead =
        gap > settings.neighbourThresholdMs
          ? `; neighbours may have seen this host as DEAD: the heartbeat was ${gap} ms old, over their ${settings.neighbourThresholdMs} ms`
          : "";
      if (latencyMs > settings.slowThresholdMs) {
        return { change: this.moveTo("slow", result.endedAtMs, `written in ${ms} ms, over hb.slow.threshold (${Math.round(settings.slowThresholdMs)} ms)${seenDead}`), enteredDead: false };
      }
      if (outcome.impairment !== undefined) {
        return { change: this.moveTo("degraded", result.endedAtMs, `written, but impaired: ${outcome.impairment}${seenDead}`), enteredDead: false };
      }
      return { change: this.moveTo("healthy", result.endedAtMs, `written in ${ms} ms${seenDead}`), enteredDead: false };
    }

    if (attemptResult === "inconclusive") return this.foldInconclusive(result.endedAtMs, message);

    const what = attemptResult === "timeout" ? `timed out after ${ms} ms` : attemptResult === "no-quorum" ? `no quorum: ${message}` : `failed: ${message}`;
    const lastTry = result.try >= settings.tries;
    // Failed tries alone run out within the bound; past it, own faults held them back.
    if (!lastTry && this.inconclusiveSinceSuccess && this.pastBound(result.endedAtMs)) {
      const reason =
        `hb's own fault, not only the storage's: no good heartbeat for ${this.blindFor(result.endedAtMs)}, ` +
        `and inconclusive attempts kept the tries from running out (last: ${what}); neighbours read a heartbeat that old as DEAD, so the host fences as configured`;
      return { change: this.moveTo("dead", result.endedAtMs, reason), enteredDead: true, ownFault: true };
    }
    if (!lastTry) {
      const to: TargetState = this.state === "dead" ? "dead" : attemptResult === "no-quorum" ? "no-quorum" : "failing";
      return { change: this.moveTo(to, result.endedAtMs, `try ${result.try} of ${settings.tries} ${what}`), enteredDead: false };
    }
    if (!this.armed && settings.armedFromStart !== true) {
      const withheld = `all ${settings.tries} tries failed (last ${what}), but the target has never succeeded since it was added: not armed, no fence`;
      return { change: this.moveTo("failing", result.endedAtMs, withheld), enteredDead: false, withheld };
    }
    const wasDead = this.state === "dead";
    const change = this.moveTo("dead", result.endedAtMs, `all ${settings.tries} tries of round ${result.round} failed; last ${what}`);
    return { change, enteredDead: !wasDead };
  }

  /**
   * hb could not check for its own reasons: not a failed try. Past the decision bound without
   * a good heartbeat, an armed target goes dead all the same: neighbours read its stale
   * heartbeat as DEAD whatever the cause (docs/design.md, "When hb cannot check").
   */
  private foldInconclusive(endedAtMs: number, message: string): FoldResult {
    this.inconclusiveSinceSuccess = true;
    // Dead stays dead until a success, as with failed tries: one decision per entry.
    if (this.state === "dead") return { change: undefined, enteredDead: false };
    if (this.pastBound(endedAtMs)) {
      const reason =
        `hb's own fault, not the storage's: hb could not check for ${this.blindFor(endedAtMs)} (last: ${message}); ` +
        `neighbours read a heartbeat that old as DEAD, so the host fences as configured`;
      return { change: this.moveTo("dead", endedAtMs, reason), enteredDead: true, ownFault: true };
    }
    return { change: this.moveTo("inconclusive", endedAtMs, message), enteredDead: false };
  }

  /** An armed target, not dead yet, without a good heartbeat for at least the decision bound. */
  private pastBound(atMs: number): boolean {
    const bound = this.settings.decisionBoundMs;
    const lastGood = this.lastSuccessAtMs;
    return this.armed && this.state !== "dead" && bound !== undefined && lastGood !== undefined && atMs - lastGood >= bound;
  }

  private blindFor(atMs: number): string {
    const bound = this.settings.decisionBoundMs ?? 0;
    return `${formatSeconds(atMs - (this.lastSuccessAtMs ?? atMs))} since the last good heartbeat, at least the decision bound of ${formatSeconds(bound)}`;
  }

  /** A timed-out attempt that completed later: recorded, never undoes the failure. */
  recordLateCompletion(seq: number, completedAfterMs: number): void {
    const index = this.attempts.findIndex((attempt) => attempt.seq === seq);
    const attempt = this.attempts[index];
    if (attempt !== undefined) this.attempts[index] = { ...attempt, lateCompletionMs: completedAfterMs };
  }

  private remember(record: AttemptRecord): void {
    this.attempts.push(record);
    if (this.attempts.length > this.settings.historySize) this.attempts.shift();
  }

  private moveTo(to: TargetState, atMs: number, reason: string): StateChange | undefined {
    if (this.state === to) return undefined;
    const change: StateChange = { atMs, target: this.id, from: this.state, to, reason };
    this.state = to;
    this.changes.push(change);
    if (this.changes.length > this.settings.historySize) this.changes.shift();
    return change;
  }
}
