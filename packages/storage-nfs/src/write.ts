import { formatHeartbeat } from "./heartbeat.js";
import { heartbeatFilePath, heartbeatFolder, validateHostId, validateMountPoint } from "./paths.js";
import { describeNoReply, runWorker, type RecordFields, type StorageCallOptions, type WriteReply, type WriteStep } from "./worker.js";

export interface WriteHeartbeatOptions extends StorageCallOptions {
  readonly mountPoint: string;
  readonly hostId: string;
  /** The heartbeat's content: this host's wall clock, epoch seconds (upstream: `date +%s`). */
  readonly nowEpochSeconds: number;
  /**
   * `hb.mounts.file`: the worker checks, right before it writes, that the pool is an NFS mount at
   * exactly its path there; else nothing is written (failure "mount"): a mount that vanished
   * would take the heartbeat onto the local disk under the mount point, a false success.
   */
  readonly nfsMountsFile?: string;
  /** Also write `hbx-<host>.json` with these fields, in place (advisory: it never fails the heartbeat). */
  readonly record?: RecordFields;
  /** The record's `seq` when the caller keeps it; else the previous record's plus one, read from it. */
  readonly recordSeq?: number;
  /**
   * Remove temporary files of earlier attempts whose process is gone: true, false, or
   * "after-create" (the default): only when this write created the file, since only first
   * writes use temporary files. One directory listing, i.e. more storage operations, each time.
   */
  readonly sweep?: boolean | "after-create";
  /**
   * Read the heartbeat back through O_DIRECT after the fsync (default false). One more round
   * trip: on NFS the fsync (COMMIT) is the proof, and every extra operation is time taken from
   * the deadline on slow storage.
   */
  readonly readBack?: boolean;
  /**
   * Leave the record and the sweep out when the heartbeat itself took longer than this
   * (default: a third of deadlineMs): on slow storage they must not push the attempt past its
   * deadline. The heartbeat is what counts; they come in a faster round.
   */
  readonly extrasWithinMs?: number;
}

export type WriteResult =
  | {
      readonly ok: true;
      readonly file: string;
      /** in-place: the existing file rewritten at its fixed size; created: the first write (temporary file and rename). */
      readonly mode: "in-place" | "created";
      /** verified: read back with O_DIRECT, bypassing this host's cache; unavailable: asked, refused by the filesystem; skipped: not asked. Else the fsync is the proof. */
      readonly readback: "verified" | "unavailable" | "skipped";
      readonly durationMs: number;
      readonly seq?: number;
      /** Why the richer record was not written (the heartbeat itself was): an error, or a planted FIFO, device or link skipped. */
      readonly recordError?: string;
      /** Why the record and the sweep were left out this time: the heartbeat was slow. */
      readonly extrasSkipped?: string;
      readonly swept: number;
      /** Leftovers kept because their process still exists (a killed attempt blocked in the kernel). */
      readonly sweepSkipped: number;
      /** Why the folder could not be swept (the heartbeat was written). */
      readonly sweepError?: string;
      /** Milliseconds from the worker's start to the end of each step. */
      readonly stepsMs: Readonly<Record<string, number>>;
    }
  | {
      readonly ok: false;
      readonly file: string;
      /**
       * timeout: no answer by the deadline, or not started because the pool already holds the
       * executor's cap of stuck workers (`refused`); spawn: the worker could not be started;
       * worker: it answered nonsense; else the step that failed.
       */
      readonly failure: "timeout" | "spawn" | "worker" | WriteStep;
      /** errno name where there is one (EIO, ENOSPC, EXDEV, EMISMATCH, EMFILE…). */
      readonly code: string;
      readonly message: string;
      readonly durationMs: number;
      readonly refused?: "stuck-cap";
    };

/**
 * Epoch seconds and a newline at a fixed size: 10 digits (zero-padded, which upstream's `expr`
 * and hb's readers read as decimal) until the year 2286. The in-place rewrite then never
 * changes the file's size.
 */
export const HEARTBEAT_DIGITS = 10;

export function fixedSizeHeartbeat(epochSeconds: number): string {
  return formatHeartbeat(epochSeconds).padStart(HEARTBEAT_DIGITS + 1, "0");
}

/** The record's fields as the worker writes them before `seq`, which is the worker's to set. */
function recordText(record: RecordFields): string {
  const { seq: _setByTheWorker, ...fields } = record;
  return JSON.stringify(fields);
}

/** Steps that fail before anything exists: upstream reports these as "Failed to create" (exit 2). */
export function failedToCreate(result: WriteResult): boolean {
  return !result.ok && (result.failure === "mkdir" || result.failure === "create");
}

/**
 * One heartbeat write of `<mount>/KVMHA/hb-<host>`. Once the file exists it is rewritten in
 * place at its fixed size and fsync'ed: no new block, no new inode, so a full pool, or a
 * `KVMHA` this host cannot create files in, keeps the heartbeat, as upstream's in-place write
 * does. The first write goes through a temporary file, fsync, rename and an fsync of the
 * folder, so that no reader ever sees an empty first heartbeat. The file must be a regular file
 * on the mount point's own filesystem. All of it in a child process: the call returns at the
 * deadline, whatever the storage does. Leftovers of earlier killed attempts are removed after a
 * success.
 */
export async function writeHeartbeat(options: WriteHeartbeatOptions): Promise<WriteResult> {
  const file = heartbeatFilePath(options.mountPoint, options.hostId);
  const { reply, exec } = await runWorker<WriteReply>(
    {
      op: "write",
      folder: heartbeatFolder(options.mountPoint),
      mountPoint: validateMountPoint(options.mountPoint),
      ...(options.nfsMountsFile === undefined ? {} : { nfsMountsFile: options.nfsMountsFile }),
      host: validateHostId(options.hostId),
      content: fixedSizeHeartbeat(options.nowEpochSeconds),
      recordText: options.record === undefined ? null : recordText(options.record),
      ...(options.recordSeq === undefined ? {} : { recordSeq: options.recordSeq }),
      sweep: options.sweep ?? "after-create",
      ...(options.readBack === true ? { readBack: true } : {}),
      extrasWithinMs: options.extrasWithinMs ?? Math.floor(options.deadlineMs / 3),
    },
    options,
  );
  const durationMs = exec.durationMs;
  if (reply === null) {
    const message = describeNoReply(exec, options.deadlineMs, options.signal);
    if (exec.spawnError !== undefined) return { ok: false, file, failure: "spawn", code: exec.spawnError, message, durationMs };
    if (exec.timedOut) return { ok: false, file, failure: "timeout", code: "ETIMEDOUT", message, durationMs, ...(exec.refused === undefined ? {} : { refused: exec.refused }) };
    return { ok: false, file, failure: "worker", code: "EWORKER", message, durationMs };
  }
  if (!reply.ok) {
    const step = reply.step ?? "worker";
    // The mount check's message says what it found; the I/O steps' say which step failed.
    const message = step === "mount" ? (reply.message ?? "not an NFS mount") : `${step} failed: ${reply.message ?? "unknown error"}`;
    return { ok: false, file, failure: step, code: reply.code || "EIO", message, durationMs };
  }
  return {
    ok: true,
    file,
    mode: reply.mode ?? "in-place",
    readback: reply.readback ?? "skipped",
    durationMs,
    ...(reply.seq === undefined ? {} : { seq: reply.seq }),
    ...(reply.recordError === undefined ? {} : { recordError: reply.recordError }),
    ...(reply.extrasSkipped === undefined ? {} : { extrasSkipped: reply.extrasSkipped }),
    swept: reply.swept ?? 0,
    sweepSkipped: reply.sweepSkipped ?? 0,
    ...(reply.sweepError === undefined ? {} : { sweepError: reply.sweepError }),
    stepsMs: reply.stepsMs ?? {},
  };
}
