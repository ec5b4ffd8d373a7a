import type { FenceActionName, TimingModel } from "@hb/config";
import type { AttemptRecord, Clock, DecisionMode, ExecResult, Executor, StateChange } from "@hb/core";
import type * as NodeFs from "node:fs";
import { errorText, withinDeadline } from "./deadline.js";
import { auditLogPath } from "./settings.js";

/**
 * The record written before any action: one JSON line in `<hb.state.dir>/fence.jsonl`. The
 * next boot reads it to tell whether the last reset was hb's (`hb fence last`).
 */
export interface FenceRecord {
  readonly kind: "decision";
  /** Links the follow-up lines of the same decision. */
  readonly id: string;
  readonly wallTime: string;
  readonly wallMs: number;
  /** The deciding process's monotonic clock (the decision's `atMs` is on the same clock). */
  readonly monoMs: number;
  /** /proc/sys/kernel/random/boot_id: a record from another boot id preceded a reboot. */
  readonly bootId: string | null;
  readonly host: string;
  /** Who fenced: kvmheartbeat.sh, kvmspheartbeat.sh, hbd, hb fence. */
  readonly source: string;
  readonly target: string;
  readonly reason: string;
  readonly action: FenceActionName;
  /** The action takes the host down (reboot, graceful-reboot). */
  readonly fences: boolean;
  /** This decision fences the host: a fencing action, acting for real. */
  readonly isFence: boolean;
  readonly mode: DecisionMode;
  readonly suppressedBy?: string;
  readonly dryRun: boolean;
  /** What the action does and, for restart-agent and log-only, that it is NOT a fence. */
  readonly summary: string;
  /** The steps about to run, in order. */
  readonly plan: readonly string[];
  readonly history: readonly StateChange[];
  readonly lastAttempts: readonly AttemptRecord[];
  readonly timing: {
    readonly decisionAtMs: number;
    readonly decisionWallTime: string;
    readonly arithmetic: string;
    readonly flushWaitMs: number;
    readonly gracefulDeadlineMs: number;
    readonly stepTimeoutMs: number;
    /** The custom script's deadline (hb.fence.custom.deadline), for custom only. */
    readonly customDeadlineMs?: number;
    readonly model: TimingModel;
  };
  /** Configuration problems the action was started with (e.g. an unknown action read as reboot). */
  readonly notices: readonly string[];
  readonly hbVersion: string;
}

/** A later line of the same decision: what a dry run would have done, a fallback, stopped VMs. */
export interface FenceFollowUp {
  readonly kind: "dry-run" | "fallback" | "affected-vms" | "custom";
  readonly id: string;
  readonly wallTime: string;
  readonly monoMs: number;
  readonly detail: string;
  readonly [field: string]: unknown;
}

/** A `-c` that did not fence: vetoed by its verification, or deferred to hbd (`hb fence last` counts them). */
export interface FenceVetoLine {
  readonly kind: "veto" | "deferral";
  readonly id: string;
  readonly wallTime: string;
  readonly monoMs: number;
}

export type AuditLine = FenceRecord | FenceFollowUp | FenceVetoLine;

export interface AppendOutcome {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * Appends records to fence.jsonl, each fsync'd, each bounded by a deadline. The write runs in a
 * child process (DESIGN rule 1): a hung state folder blocks its writer in the kernel, and inside
 * this process it would pin a libuv pool thread, which keeps the process from ever exiting. So a
 * fence never waits on the record past the deadline, and the process that fenced still ends.
 * After a write hung, later writes are not attempted (they would queue behind the same disk).
 */
export class AuditLog {
  readonly path: string;
  private hung = false;

  constructor(
    readonly stateDir: string,
    private readonly clock: Clock,
    private readonly deadlineMs: number,
    private readonly executor: Executor,
  ) {
    this.path = auditLogPath(stateDir);
  }

  async append(line: AuditLine): Promise<AppendOutcome> {
    if (this.hung) return { ok: false, detail: `not written: an earlier write to ${this.path} is still hanging` };
    const text = `${JSON.stringify(line)}\n`;
    // The executor's own deadline ends the child; this timer only guards a misbehaving executor.
    const write = this.executor.run({
      file: process.execPath,
      args: ["--no-warnings", "-e", APPEND_SOURCE],
      input: JSON.stringify({ stateDir: this.stateDir, path: this.path, text }),
      deadlineMs: this.deadlineMs,
    });
    const settled = await withinDeadline(this.clock, this.deadlineMs + 100, write).catch((error: unknown) => ({ done: true as const, value: errorResult(error) }));
    const result = settled.done ? settled.value : undefined;
    if (result === undefined || result.timedOut) {
      this.hung = true;
      return { ok: false, detail: `not confirmed: ${this.path} did not answer within ${this.deadlineMs} ms` };
    }
    if (result.spawnError !== undefined) return { ok: false, detail: `not written to ${this.path}: cannot start its writer (${result.spawnError})` };
    let reply: { ok?: unknown; message?: unknown } | undefined;
    try {
      reply = JSON.parse(result.stdout) as typeof reply;
    } catch {
      reply = undefined;
    }
    if (result.exitCode === 0 && reply?.ok === true) return { ok: true, detail: `${this.path} (${text.length} bytes, fsync'd)` };
    const why = typeof reply?.message === "string" ? reply.message : `writer exited with ${result.exitCode ?? result.signal ?? "?"}${result.stderr.trim() === "" ? "" : `: ${result.stderr.trim().split("\n").at(-1)}`}`;
    return { ok: false, detail: `not written to ${this.path}: ${why}` };
  }
}

function errorResult(error: unknown): ExecResult {
  return { exitCode: null, signal: null, stdout: "", stderr: errorText(error), timedOut: false, durationMs: 0 };
}

interface AppendRequest {
  readonly stateDir: string;
  readonly path: string;
  readonly text: string;
}

/**
 * The child's work, serialized with Function#toString: it may use only its parameters and what
 * it declares inside. Creates the folder (0750), appends (0640), closes a line torn by an
 * earlier reset first, fsyncs the file (and the folder when the file is new). A FIFO, device or
 * symlink planted as fence.jsonl is refused: opening or writing it could block for ever.
 */
function appendRecord(fs: typeof NodeFs, request: AppendRequest): { ok: true } {
  const { constants } = fs;
  try {
    fs.mkdirSync(request.stateDir, { recursive: true, mode: 0o750 });
  } catch (error) {
    // A recursive mkdir reports ENOENT for any failure below an existing folder; the plain one
    // names the real cause (EROFS, EACCES).
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    fs.mkdirSync(request.stateDir, { mode: 0o750 });
  }
  let created: boolean;
  const fd = fs.openSync(request.path, constants.O_RDWR | constants.O_APPEND | constants.O_CREAT | constants.O_NONBLOCK | constants.O_NOFOLLOW, 0o640);
  try {
    const info = fs.fstatSync(fd);
    if (!info.isFile()) throw new Error("not a regular file: refused");
    const size = info.size;
    created = size === 0;
    let prefix = "";
    if (size > 0) {
      const last = Buffer.alloc(1);
      fs.readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    fs.writeSync(fd, prefix + request.text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  // A new file is durable only once its folder entry is.
  if (created) {
    const folder = fs.openSync(request.stateDir, "r");
    try {
      fs.fsyncSync(folder);
    } finally {
      fs.closeSync(folder);
    }
  }
  return { ok: true };
}

const APPEND_SOURCE = [
  '"use strict";',
  // What `ps` shows for a writer left in D state on a hung state folder.
  'process.title = "hb-audit-writer";',
  "let reply;",
  `try { reply = (${appendRecord.toString()})(require("node:fs"), JSON.parse(require("node:fs").readFileSync(0, "utf8"))); }`,
  'catch (error) { reply = { ok: false, message: (error && error.code && !String(error.message).includes(error.code) ? error.code + ": " : "") + String(error && error.message || error) }; }',
  "process.stdout.write(JSON.stringify(reply));",
].join("\n");
