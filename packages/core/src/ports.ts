import type { FenceActionName, TimingModel } from "@hb/config";
import type { TargetState } from "./states.js";

/** A pending timer; cancel() is safe to call twice or after it fired. */
export interface TimerHandle {
  cancel(): void;
}

/**
 * Time, injected: the loop runs unchanged on the system clock, under `hb simulate` and in
 * tests. Monotonic time measures durations and deadlines; wall time only labels records.
 */
export interface Clock {
  /** Epoch milliseconds, for records. */
  wallMs(): number;
  /** Monotonic milliseconds from an arbitrary origin, for every deadline. */
  monoMs(): number;
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** Resolves after delayMs, or at once when the signal aborts. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

export interface ExecRequest {
  readonly file: string;
  readonly args: readonly string[];
  /** The attempt fails at this deadline, whatever the process does afterwards. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  readonly input?: string;
  /**
   * Variables set for the child on top of the environment it inherits (LC_ALL=C for a message
   * matched by its words): one exec instead of `env VAR=… program`.
   */
  readonly env?: Readonly<Record<string, string>>;
  /**
   * A key (e.g. a pool's mount point) under which stuck children are capped: a hung pool holds
   * at most a fixed number of them, and past that cap a request is refused at once.
   */
  readonly group?: string;
  /**
   * Bytes kept per output stream; past it the child is killed and the result has `overflow`.
   * Default: the executor's own (ProcessExecutor: 16 MiB).
   */
  readonly maxOutputBytes?: number;
  /**
   * The program prints a small, known amount whatever it meets (dd with count=1): its output may
   * be collected in files and read once it exits. Without it, output is capped while written.
   */
  readonly outputBounded?: boolean;
  /**
   * Keep the child for later requests with the same key (e.g. a pool's mount point): the input is
   * sent as one line, and the result's stdout is the first line the child prints (without "\n").
   * The program must answer each line with one line and exit at the end of its input.
   */
  readonly keepAlive?: string;
}

export interface ExecResult {
  /** null when the process was killed by a signal or abandoned at its deadline. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /**
   * The errno code (ENOENT, EMFILE, EAGAIN…) when the program could not be started: exitCode
   * null, timedOut false. See isOwnFaultCode() for the codes that are hb's own fault.
   */
  readonly spawnError?: string;
  /**
   * Set when the request was not run because its group already holds the maximum of stuck
   * children: returned at once as a timeout (timedOut true), which is what it is.
   */
  readonly refused?: "stuck-cap";
  /**
   * The stream that went past the request's `maxOutputBytes`: the child was SIGKILLed then
   * (exitCode null, signal "SIGKILL", timedOut false), that stream holds its first bytes up to
   * the cap, and the last line of stderr names the program and the cap.
   */
  readonly overflow?: "stdout" | "stderr";
}

/** Runs programs with argument arrays, never a shell, each under a deadline. */
export interface Executor {
  run(request: ExecRequest): Promise<ExecResult>;
  /** Ends the kept child of this key (closes its input; it exits at the end of it). No-op when none. */
  release?(key: string): void;
}

/** Storage-specific facts behind an outcome, in words (e.g. DRBD fields). */
export interface Evidence {
  readonly [field: string]: string | number | boolean;
}

export interface AttemptContext {
  readonly seq: number;
  /** Milliseconds the attempt may take; the loop fails it at this deadline regardless. */
  readonly deadlineMs: number;
  /** Aborted at the deadline or when the loop stops. */
  readonly signal: AbortSignal;
}

/**
 * A failure's reason: "error" and "no-quorum" are failed tries of the storage. "inconclusive"
 * means hb itself could not check (its own fault: descriptors, memory, a spawn that failed, a
 * mount table it cannot read for its own reasons): never a failed try.
 */
export type AttemptOutcome =
  | { readonly ok: true; readonly impairment?: string; readonly evidence?: Evidence }
  | { readonly ok: false; readonly reason: "error" | "no-quorum" | "inconclusive"; readonly message: string; readonly evidence?: Evidence };

/** One pool: a heartbeat write (NFS) or a health query (DRBD). */
export interface HeartbeatTarget {
  readonly id: string;
  attempt(context: AttemptContext): Promise<AttemptOutcome>;
}

export type AttemptResult = "ok" | "timeout" | "error" | "no-quorum" | "inconclusive";

export interface AttemptRecord {
  readonly seq: number;
  readonly round: number;
  readonly try: number;
  readonly startedAtMs: number;
  /** Time to the outcome, or to the deadline for a timeout. */
  readonly latencyMs: number;
  readonly result: AttemptResult;
  readonly message: string;
  /** Set when a timed-out attempt completed later (the storage came back). */
  readonly lateCompletionMs?: number;
}

export interface StateChange {
  readonly atMs: number;
  readonly target: string;
  readonly from: TargetState | null;
  readonly to: TargetState;
  readonly reason: string;
}

/** Why the decision will or will not act. */
export type DecisionMode = "act" | "dry-run" | "suppressed";

export interface FenceDecision {
  readonly atMs: number;
  readonly wallTime: string;
  readonly target: string;
  readonly reason: string;
  readonly action: FenceActionName;
  /** This decision fences the host (a fencing action, the reboot flag on, acting for real). */
  readonly isFence: boolean;
  readonly mode: DecisionMode;
  /** Why it is suppressed: the reboot flag off, maintenance. */
  readonly suppressedBy?: string;
  readonly dryRun: boolean;
  readonly history: readonly StateChange[];
  readonly lastAttempts: readonly AttemptRecord[];
  readonly timing: TimingModel;
  /** The deadline arithmetic in words: how the decision time follows from the settings. */
  readonly arithmetic: string;
  /**
   * Set when the target is dead because hb could not check for its own reasons (inconclusive
   * attempts) for the whole decision bound, rather than by failed tries of the storage.
   */
  readonly ownFault?: boolean;
}

export interface FenceReport {
  readonly action: FenceActionName;
  /** What was done, in words. */
  readonly outcome: string;
  readonly acted: boolean;
}

/** Executes a decision. Actions must act only when `decision.mode` is "act". */
export interface FenceAction {
  readonly name: FenceActionName;
  execute(decision: FenceDecision): Promise<FenceReport>;
}
