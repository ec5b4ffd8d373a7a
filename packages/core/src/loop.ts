import { deriveTiming, formatSeconds, isFencingAction, type HeartbeatConfig, type TimingModel } from "@hb/config";
import type { AttemptOutcome, Clock, FenceAction, FenceDecision, FenceReport, HeartbeatTarget, StateChange, AttemptRecord } from "./ports.js";
import type { TargetState } from "./states.js";
import { TargetTracker } from "./tracker.js";

export type LoopEvent =
  | { readonly type: "state"; readonly change: StateChange }
  | { readonly type: "attempt"; readonly target: string; readonly record: AttemptRecord }
  | { readonly type: "late-completion"; readonly atMs: number; readonly target: string; readonly seq: number; readonly afterMs: number }
  | { readonly type: "withheld"; readonly atMs: number; readonly target: string; readonly reason: string }
  | { readonly type: "decision"; readonly decision: FenceDecision }
  | { readonly type: "fence-report"; readonly atMs: number; readonly report: FenceReport }
  | { readonly type: "fence-error"; readonly atMs: number; readonly target: string; readonly message: string };

/**
 * Inconclusive attempts do not count against the tries, so with retry.sleep=0 an own fault that
 * fails at once would retry without pause: they are at least this far apart.
 */
const MIN_INCONCLUSIVE_PAUSE_MS = 1000;

export interface LoopOptions {
  readonly config: HeartbeatConfig;
  readonly clock: Clock;
  readonly targets: readonly HeartbeatTarget[];
  readonly fence: FenceAction;
  readonly onEvent?: (event: LoopEvent) => void;
  /** Attempts and state changes kept per target. */
  readonly historySize?: number;
  /**
   * "hb" (default), or "upstream": the agent's own policy, for side-by-side comparisons. It
   * sleeps retry.sleep after the last try too before deciding, and has no start-up grace.
   */
  readonly policy?: "hb" | "upstream";
}

export interface TargetStatus {
  readonly id: string;
  readonly state: TargetState | null;
  readonly armed: boolean;
  readonly lastSuccessAtMs: number | undefined;
  readonly history: readonly StateChange[];
  readonly attempts: readonly AttemptRecord[];
}

interface Running {
  readonly target: HeartbeatTarget;
  readonly tracker: TargetTracker;
  readonly stop: AbortController;
  done: Promise<void>;
}

/**
 * The heartbeat loop: one independent schedule per target (a hung target delays no other),
 * each attempt failed at its deadline, graded states, one decision per entry into `dead`.
 * Everything that waits goes through the Clock, so simulation runs this very code.
 */
export class HeartbeatLoop {
  private readonly running = new Map<string, Running>();
  private timing: TimingModel;
  private options: LoopOptions;
  private seq = 0;
  private fenced = false;
  private maintenanceUntilMs: number | undefined;
  private maintenanceReason = "";

  constructor(options: LoopOptions) {
    this.options = options;
    this.timing = deriveTiming(options.config);
  }

  /**
   * New settings and fence action (a reload), keeping every target's state and history. Rounds
   * in progress finish with the values they started with.
   */
  reconfigure(config: HeartbeatConfig, fence: FenceAction): void {
    this.options = { ...this.options, config, fence };
    this.timing = deriveTiming(config);
    for (const running of this.running.values()) running.tracker.reconfigure(this.trackerSettings());
  }

  get config(): HeartbeatConfig {
    return this.options.config;
  }

  get timingModel(): TimingModel {
    return this.timing;
  }

  start(): void {
    for (const target of this.options.targets) this.addTarget(target);
  }

  /**
   * Starts a target's schedule, its first round after `firstRoundInMs` (hbd spreads many pools'
   * first rounds over one frequency, so that their writes do not all start in one burst).
   */
  addTarget(target: HeartbeatTarget, firstRoundInMs = 0): void {
    if (this.running.has(target.id)) return;
    const tracker = new TargetTracker(target.id, this.trackerSettings());
    const running: Running = { target, tracker, stop: new AbortController(), done: Promise.resolve() };
    this.running.set(target.id, running);
    running.done = this.schedule(running, firstRoundInMs);
  }

  private trackerSettings() {
    const { config } = this.options;
    return {
      tries: config["kvm.heartbeat.update.max.tries"],
      attemptDeadlineMs: config["heartbeat.update.timeout"],
      slowThresholdMs: config["hb.slow.threshold"] * config["heartbeat.update.timeout"],
      neighbourThresholdMs: this.timing.neighbourThresholdMs,
      historySize: this.options.historySize ?? 64,
      armedFromStart: this.options.policy === "upstream",
      // Upstream's agent has no own faults, so no bound on them.
      ...(this.options.policy === "upstream" ? {} : { decisionBoundMs: this.timing.decisionLatestMs }),
    };
  }

  /** Stops a target's schedule (a pool libvirt no longer reports); an attempt in flight is abandoned. */
  async removeTarget(id: string): Promise<void> {
    const running = this.running.get(id);
    if (running === undefined) return;
    this.running.delete(id);
    running.stop.abort();
    await running.done;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.running.keys()].map((id) => this.removeTarget(id)));
  }

  /** Suspends fencing for a bounded time; heartbeats continue and it expires by itself. */
  suspendFencing(ttlMs: number, reason: string): void {
    this.maintenanceUntilMs = this.options.clock.monoMs() + ttlMs;
    this.maintenanceReason = reason;
  }

  resumeFencing(): void {
    this.maintenanceUntilMs = undefined;
  }

  /** Maintenance end in monotonic ms, when active. */
  maintenanceUntil(): number | undefined {
    const until = this.maintenanceUntilMs;
    return until !== undefined && this.options.clock.monoMs() < until ? until : undefined;
  }

  status(): TargetStatus[] {
    return [...this.running.values()].map(({ target, tracker }) => ({
      id: target.id,
      state: tracker.state,
      armed: tracker.armed,
      lastSuccessAtMs: tracker.lastSuccessAtMs,
      history: tracker.history,
      attempts: tracker.recentAttempts,
    }));
  }

  private emit(event: LoopEvent): void {
    this.options.onEvent?.(event);
  }

  // A round starts `frequency` after the previous one ended (upstream's fixed delay).
  private async schedule(running: Running, firstRoundInMs: number): Promise<void> {
    const { clock, config } = this.options;
    const signal = running.stop.signal;
    if (firstRoundInMs > 0) await clock.sleep(firstRoundInMs, signal);
    for (let round = 1; !signal.aborted; round++) {
      await this.round(running, round);
      await clock.sleep(config["kvm.heartbeat.update.frequency"], signal);
    }
  }

  private async round(running: Running, round: number): Promise<void> {
    const { clock, config } = this.options;
    const tries = config["kvm.heartbeat.update.max.tries"];
    const signal = running.stop.signal;
    const upstream = this.options.policy === "upstream";
    // `attempt` is the try number: an inconclusive attempt (hb's own fault) is retried under
    // the same number, so it never brings the round closer to dead.
    for (let attempt = 1; attempt <= tries && !signal.aborted; ) {
      const startedAtMs = clock.monoMs();
      const seq = ++this.seq;
      let outcome = await this.attemptWithDeadline(running, seq);
      if (signal.aborted) return;
      // Upstream's agent knows no "inconclusive": whatever fails the script is a failed try.
      if (upstream && outcome?.ok === false && outcome.reason === "inconclusive") outcome = { ...outcome, reason: "error" };
      const fold = running.tracker.fold({ seq, round, try: attempt, startedAtMs, endedAtMs: clock.monoMs(), outcome });
      const record = running.tracker.recentAttempts.at(-1);
      if (record !== undefined) this.emit({ type: "attempt", target: running.target.id, record });
      if (fold.change !== undefined) this.emit({ type: "state", change: fold.change });
      if (fold.withheld !== undefined) this.emit({ type: "withheld", atMs: clock.monoMs(), target: running.target.id, reason: fold.withheld });
      if (fold.enteredDead) {
        if (upstream) await clock.sleep(config["kvm.heartbeat.update.retry.sleep"], signal);
        await this.decide(running, fold.ownFault === true);
        return;
      }
      if (outcome?.ok) return;
      if (outcome?.ok === false && outcome.reason === "inconclusive") {
        // Dead already, by an earlier decision: the next round probes again.
        if (running.tracker.state === "dead") return;
        await clock.sleep(this.retryPauseMs(running, true), signal);
        continue;
      }
      // No sleep after the last try: hb decides at once (upstream sleeps once more).
      if (attempt < tries) await clock.sleep(this.retryPauseMs(running, false), signal);
      attempt++;
    }
  }

  /**
   * retry.sleep (at least MIN_INCONCLUSIVE_PAUSE_MS after an inconclusive attempt), but never
   * past the decision bound: the attempt that can end the blind time starts when the bound is
   * reached, so an own-fault decision comes at the bound plus that attempt's own time, not up to
   * a whole pause later. Failed tries alone never reach the bound, so for them it changes nothing.
   */
  private retryPauseMs(running: Running, inconclusive: boolean): number {
    const retrySleep = this.options.config["kvm.heartbeat.update.retry.sleep"];
    const pause = inconclusive ? Math.max(retrySleep, MIN_INCONCLUSIVE_PAUSE_MS) : retrySleep;
    const { tracker } = running;
    if (this.options.policy === "upstream" || !tracker.armed || tracker.state === "dead" || tracker.lastSuccessAtMs === undefined) return pause;
    return Math.min(pause, Math.max(0, tracker.lastSuccessAtMs + this.timing.decisionLatestMs - this.options.clock.monoMs()));
  }

  /** The attempt, raced against our own timer: at the deadline it is failed, never awaited. */
  private attemptWithDeadline(running: Running, seq: number): Promise<AttemptOutcome | undefined> {
    const { clock, config } = this.options;
    const deadlineMs = config["heartbeat.update.timeout"];
    const controller = new AbortController();
    const startedAtMs = clock.monoMs();
    return new Promise<AttemptOutcome | undefined>((resolve) => {
      let settled = false;
      // At the deadline, or when the target is stopped: the attempt is over for the loop.
      const abandon = () => {
        if (settled) return;
        settled = true;
        timer.cancel();
        running.stop.signal.removeEventListener("abort", abandon);
        controller.abort();
        resolve(undefined);
      };
      const settle = (outcome: AttemptOutcome) => {
        if (settled) {
          // Late: the storage answered after all. Recorded for status; the failure stands.
          if (outcome.ok) {
            const afterMs = clock.monoMs() - startedAtMs;
            running.tracker.recordLateCompletion(seq, afterMs);
            this.emit({ type: "late-completion", atMs: clock.monoMs(), target: running.target.id, seq, afterMs });
          }
          return;
        }
        settled = true;
        timer.cancel();
        running.stop.signal.removeEventListener("abort", abandon);
        resolve(outcome);
      };
      let attempt: Promise<AttemptOutcome>;
      try {
        attempt = running.target.attempt({ seq, deadlineMs, signal: controller.signal });
      } catch (error) {
        attempt = Promise.reject(error);
      }
      // Set after the attempt started, so that an answer exactly at the deadline counts as in time.
      const timer = clock.setTimer(deadlineMs, abandon);
      running.stop.signal.addEventListener("abort", abandon, { once: true });
      attempt.then(settle, (error: unknown) => settle({ ok: false, reason: "error", message: error instanceof Error ? error.message : String(error) }));
    });
  }

  private async decide(running: Running, ownFault = false): Promise<void> {
    const { clock, config } = this.options;
    const target = running.target.id;
    const atMs = clock.monoMs();
    if (this.fenced) {
      this.emit({ type: "withheld", atMs, target, reason: "the host was already fenced by an earlier decision" });
      return;
    }
    if (config["hb.fence.scope"] === "all") {
      const alive = [...this.running.values()].filter((other) => other.tracker.state !== "dead").map((other) => other.target.id);
      if (alive.length > 0) {
        this.emit({ type: "withheld", atMs, target, reason: `hb.fence.scope=all and ${alive.join(", ")} still answer` });
        return;
      }
    }
    const decision = this.buildDecision(running, atMs, ownFault);
    if (decision.isFence) this.fenced = true;
    this.emit({ type: "decision", decision });
    try {
      const report = await this.options.fence.execute(decision);
      this.emit({ type: "fence-report", atMs: clock.monoMs(), report });
    } catch (error) {
      this.emit({ type: "fence-error", atMs: clock.monoMs(), target, message: error instanceof Error ? error.message : String(error) });
    }
  }

  private buildDecision(running: Running, atMs: number, ownFault: boolean): FenceDecision {
    const { clock, config, fence } = this.options;
    const timing = this.timing;
    const maintenance = this.maintenanceUntil();
    const dryRun = config["hb.fence.dry.run"];
    let mode: FenceDecision["mode"] = "act";
    let suppressedBy: string | undefined;
    if (!config["reboot.host.and.alert.management.on.heartbeat.timeout"]) {
      mode = "suppressed";
      suppressedBy = "reboot.host.and.alert.management.on.heartbeat.timeout is false";
    } else if (maintenance !== undefined) {
      mode = "suppressed";
      suppressedBy = `maintenance for ${formatSeconds(maintenance - atMs)} more: ${this.maintenanceReason}`;
    } else if (dryRun) {
      mode = "dry-run";
    }
    const tracker = running.tracker;
    const lastGood = tracker.lastSuccessAtMs;
    const tries = config["kvm.heartbeat.update.max.tries"];
    const bound =
      `pause ${formatSeconds(config["kvm.heartbeat.update.frequency"])}, then ${tries} tries of at most ${formatSeconds(config["heartbeat.update.timeout"])} ` +
      `with ${tries - 1} pauses of ${formatSeconds(config["kvm.heartbeat.update.retry.sleep"])}`;
    const since = lastGood === undefined ? "" : `, here after ${formatSeconds(atMs - lastGood)}`;
    const arithmetic = ownFault
      ? `last good heartbeat at ${lastGood === undefined ? "?" : formatSeconds(lastGood)}; since then hb could not check for its own reasons ` +
        `(inconclusive attempts, not failed tries) for the whole decision bound of ${formatSeconds(timing.decisionLatestMs)} (${bound})${since}; ` +
        `neighbours call a heartbeat older than ${formatSeconds(timing.neighbourDeadAfterMs)} DEAD, so the host fences as configured`
      : `last good heartbeat at ${lastGood === undefined ? "?" : formatSeconds(lastGood)}; ${bound}: decision at most ${formatSeconds(timing.decisionLatestMs)} after it${since}`;
    return {
      atMs,
      wallTime: new Date(clock.wallMs()).toISOString(),
      target: running.target.id,
      reason: tracker.history.at(-1)?.reason ?? "dead",
      action: fence.name,
      isFence: mode === "act" && isFencingAction(fence.name, this.options.config["hb.fence.custom.fences"]),
      mode,
      ...(suppressedBy === undefined ? {} : { suppressedBy }),
      dryRun,
      history: [...tracker.history],
      lastAttempts: tracker.recentAttempts.slice(-2 * tries),
      timing,
      arithmetic,
      ...(ownFault ? { ownFault: true } : {}),
    };
  }
}
