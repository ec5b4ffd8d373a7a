import type { FenceActionName, TimingModel } from "@hb/config";
import type { AttemptRecord, Clock, DecisionMode, StateChange } from "@hb/core";
import { mkdir, open } from "node:fs/promises";
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
    readonly model: TimingModel;
  };
  /** Configuration problems the action was started with (e.g. an unknown action read as reboot). */
  readonly notices: readonly string[];
  readonly hbVersion: string;
}

/** A later line of the same decision: what a dry run would have done, a fallback, stopped VMs. */
export interface FenceFollowUp {
  readonly kind: "dry-run" | "fallback" | "affected-vms";
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
 * Appends records to fence.jsonl, each fsync'd, each bounded by a deadline. A state folder that
 * fails (read-only, full) or hangs never holds the action: the caller moves on at the deadline.
 * After a write hung, later writes are not attempted (they would queue behind the same disk).
 */
export class AuditLog {
  readonly path: string;
  private hung = false;

  constructor(
    readonly stateDir: string,
    private readonly clock: Clock,
    private readonly deadlineMs: number,
  ) {
    this.path = auditLogPath(stateDir);
  }

  async append(line: AuditLine): Promise<AppendOutcome> {
    if (this.hung) return { ok: false, detail: `not written: an earlier write to ${this.path} is still hanging` };
    const text = `${JSON.stringify(line)}\n`;
    const write = appendDurably(this.stateDir, this.path, text);
    write.catch(() => undefined);
    try {
      const settled = await withinDeadline(this.clock, this.deadlineMs, write);
      if (settled.done) return { ok: true, detail: `${this.path} (${text.length} bytes, fsync'd)` };
      this.hung = true;
      return { ok: false, detail: `not confirmed: ${this.path} did not answer within ${this.deadlineMs} ms` };
    } catch (error) {
      return { ok: false, detail: `not written to ${this.path}: ${errorText(error)}` };
    }
  }
}

async function appendDurably(stateDir: string, path: string, text: string): Promise<void> {
  await mkdir(stateDir, { recursive: true, mode: 0o750 }).catch(async (error: NodeJS.ErrnoException) => {
    // A recursive mkdir reports ENOENT for any failure below an existing folder; the plain one
    // names the real cause (EROFS, EACCES).
    if (error.code !== "ENOENT") throw error;
    await mkdir(stateDir, { mode: 0o750 });
  });
  const handle = await open(path, "a+", 0o640);
  try {
    const { size } = await handle.stat();
    // A line torn by an earlier reset is closed first, so this record stays a line of its own.
    let prefix = "";
    if (size > 0) {
      const last = Buffer.alloc(1);
      await handle.read(last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    await handle.write(prefix + text);
    await handle.sync();
    // A new file is durable only once its folder entry is.
    if (size === 0) await syncFolder(stateDir);
  } finally {
    await handle.close();
  }
}

async function syncFolder(folder: string): Promise<void> {
  const handle = await open(folder, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
