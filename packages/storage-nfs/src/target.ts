import type { AttemptContext, AttemptOutcome, Clock, Executor, HeartbeatTarget } from "@hb/core";
import { isOwnFaultCode } from "@hb/core/adapters";
import { validateHostId, validateMountPoint } from "./paths.js";
import type { RecordFields } from "./worker.js";
import { writeHeartbeat } from "./write.js";

const BACKSTOP_AFTER_DEADLINE_MS = 1000;

/**
 * The record is rewritten every this many heartbeats (and whenever its fields change): with it,
 * a heartbeat averages no more storage operations than upstream's script (README: operations).
 */
export const DEFAULT_RECORD_EVERY = 5;

export interface NfsTargetOptions {
  /** The target's id in the loop (e.g. the pool's uuid). */
  readonly id: string;
  readonly mountPoint: string;
  /** This host's id in the file name (its private IP, as upstream). */
  readonly hostId: string;
  readonly executor: Executor;
  /** Wall time for the heartbeat's content and the record. */
  readonly clock: Clock;
  /**
   * Write the richer record `hbx-<host>.json` too: this boot's id, plus whatever the caller
   * reports (frequency, thresholds, state, maintenance). It is rewritten on the first attempt,
   * whenever those fields change, after a failed record write, and otherwise every `every`
   * successful heartbeats (default DEFAULT_RECORD_EVERY).
   */
  readonly record?: { readonly bootId: string; readonly fields?: () => RecordFields; readonly every?: number };
  readonly nodePath?: string;
  /**
   * The native storage worker (hb-storage-worker): the target's writes go to one such process,
   * kept alive by the executor under the mount point. Without it, each write is a Node child.
   */
  readonly nativeWorker?: string;
  /**
   * The mount table (`hb.mounts.file`). When given, every attempt's worker first checks that the
   * pool is still an NFS mount at exactly this path, right before it writes: a mount that
   * vanished would otherwise take the heartbeat onto the local disk under the mount point, a
   * false success. A table hb cannot read for its own fault (EMFILE…) is inconclusive.
   */
  readonly mountsFile?: string;
}

/**
 * One NFS pool as a heartbeat target of @hb/core's loop: one attempt is one bounded write of
 * `hb-<host>` and its read-back, in a child process that the attempt's deadline abandons.
 */
export class NfsHeartbeatTarget implements HeartbeatTarget {
  readonly id: string;
  private readonly mountPoint: string;
  private readonly hostId: string;
  // The first attempt sweeps leftovers of an earlier process; later ones after a failure.
  private needsSweep = true;
  // The record's sequence, read from storage by the first record write and kept here after it.
  private recordSeq: number | undefined;
  private recordFieldsWritten: string | undefined;
  private heartbeatsSinceRecord = 0;

  constructor(private readonly options: NfsTargetOptions) {
    this.id = options.id;
    this.mountPoint = validateMountPoint(options.mountPoint);
    this.hostId = validateHostId(options.hostId);
  }

  async attempt(context: AttemptContext): Promise<AttemptOutcome> {
    const wallMs = this.options.clock.wallMs();
    const record = this.recordDue();
    const result = await writeHeartbeat({
      executor: this.options.executor,
      mountPoint: this.mountPoint,
      hostId: this.hostId,
      nowEpochSeconds: Math.floor(wallMs / 1000),
      // The loop's signal ends the attempt at its deadline, and the loop records a timeout; the
      // worker's own deadline is only the backstop for a caller that never aborts.
      deadlineMs: context.deadlineMs + BACKSTOP_AFTER_DEADLINE_MS,
      signal: context.signal,
      sweep: this.needsSweep ? true : "after-create",
      ...(this.options.mountsFile === undefined ? {} : { nfsMountsFile: this.options.mountsFile }),
      // Stuck workers are capped per pool by the executor: past the cap, an attempt fails at once.
      group: this.mountPoint,
      ...(record === undefined ? {} : { record: { host: this.hostId, bootId: record.bootId, writtenAtMs: wallMs, attempt: context.seq, ...record.fields } }),
      ...(record === undefined || this.recordSeq === undefined ? {} : { recordSeq: this.recordSeq + 1 }),
      ...(this.options.nodePath === undefined ? {} : { nodePath: this.options.nodePath }),
      ...(this.options.nativeWorker === undefined ? {} : { nativeWorker: this.options.nativeWorker }),
    });
    if (!result.ok) {
      const evidence = { failure: result.failure, code: result.code, ...(result.refused === undefined ? {} : { refused: result.refused }) };
      // hb's own fault (a worker it could not start, descriptors, memory): not a failed try.
      if (result.failure === "spawn" || isOwnFaultCode(result.code)) {
        return { ok: false, reason: "inconclusive", message: `${result.file}: ${result.message}`, evidence };
      }
      this.needsSweep = true;
      return { ok: false, reason: "error", message: `${result.file}: ${result.message}`, evidence };
    }
    // A leftover whose killed process still exists (blocked in the kernel) is swept next time.
    if (result.extrasSkipped === undefined && result.sweepSkipped === 0 && result.sweepError === undefined) this.needsSweep = false;
    if (record !== undefined) {
      if (result.seq !== undefined && result.recordError === undefined) {
        this.recordSeq = result.seq;
        this.recordFieldsWritten = record.key;
        this.heartbeatsSinceRecord = 0;
      }
    } else {
      this.heartbeatsSinceRecord++;
    }
    const evidence = {
      mode: result.mode,
      readback: result.readback,
      swept: result.swept,
      ...(result.seq === undefined ? {} : { seq: result.seq }),
      ...(result.extrasSkipped === undefined ? {} : { extrasSkipped: result.extrasSkipped }),
    };
    return result.recordError === undefined ? { ok: true, evidence } : { ok: true, impairment: `heartbeat written, record not: ${result.recordError}`, evidence };
  }

  /** Ends the storage worker kept for this pool (a pool no longer watched). */
  release(): void {
    this.options.executor.release?.(this.mountPoint);
  }

  /** The record to write with this heartbeat, or undefined when it is not due. */
  private recordDue(): { readonly bootId: string; readonly fields: RecordFields; readonly key: string } | undefined {
    const record = this.options.record;
    if (record === undefined) return undefined;
    const fields = record.fields?.() ?? {};
    const key = JSON.stringify(fields);
    const every = Math.max(1, record.every ?? DEFAULT_RECORD_EVERY);
    const due = this.recordSeq === undefined || key !== this.recordFieldsWritten || this.heartbeatsSinceRecord + 1 >= every;
    return due ? { bootId: record.bootId, fields, key } : undefined;
  }
}
