import { formatHeartbeat } from "./heartbeat.js";
import { heartbeatFilePath, heartbeatFolder, validateHostId } from "./paths.js";
import { describeNoReply, runWorker, type RecordFields, type StorageCallOptions, type WriteReply, type WriteStep } from "./worker.js";

export interface WriteHeartbeatOptions extends StorageCallOptions {
  readonly mountPoint: string;
  readonly hostId: string;
  /** The heartbeat's content: this host's wall clock, epoch seconds (upstream: `date +%s`). */
  readonly nowEpochSeconds: number;
  /** Also write `hbx-<host>.json` with these fields (its `seq` is kept on storage). */
  readonly record?: RecordFields;
  /** Remove temporary files of earlier attempts whose process is gone (default true). */
  readonly sweep?: boolean;
}

export type WriteResult =
  | {
      readonly ok: true;
      readonly file: string;
      /** verified: read back with O_DIRECT, bypassing this host's cache; unavailable: the fsync is the proof. */
      readonly readback: "verified" | "unavailable";
      readonly durationMs: number;
      readonly seq?: number;
      /** Why the richer record was not written (the heartbeat itself was). */
      readonly recordError?: string;
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
      /** timeout: no answer by the deadline; else the step that failed. */
      readonly failure: "timeout" | WriteStep | "worker";
      /** errno name where there is one (EIO, ENOSPC, EMISMATCH…). */
      readonly code: string;
      readonly message: string;
      readonly durationMs: number;
    };

/** Steps that fail before anything exists: upstream reports these as "Failed to create" (exit 2). */
export function failedToCreate(result: WriteResult): boolean {
  return !result.ok && (result.failure === "mkdir" || result.failure === "create");
}

/**
 * One heartbeat write of `<mount>/KVMHA/hb-<host>`: a temporary file beside it, fsync, rename
 * over the target, fsync the folder, then a read-back where O_DIRECT can bypass this host's
 * cache. All of it in a child process: the call returns at the deadline, whatever the storage
 * does. Leftovers of earlier killed attempts are removed after a success.
 */
export async function writeHeartbeat(options: WriteHeartbeatOptions): Promise<WriteResult> {
  const file = heartbeatFilePath(options.mountPoint, options.hostId);
  const { reply, exec } = await runWorker<WriteReply>(
    {
      op: "write",
      folder: heartbeatFolder(options.mountPoint),
      host: validateHostId(options.hostId),
      content: formatHeartbeat(options.nowEpochSeconds),
      record: options.record ?? null,
      sweep: options.sweep ?? true,
    },
    options,
  );
  const durationMs = exec.durationMs;
  if (reply === null) {
    return { ok: false, file, failure: exec.timedOut ? "timeout" : "worker", code: exec.timedOut ? "ETIMEDOUT" : "EWORKER", message: describeNoReply(exec, options.deadlineMs, options.signal), durationMs };
  }
  if (!reply.ok) {
    const step = reply.step ?? "worker";
    return { ok: false, file, failure: step, code: reply.code || "EIO", message: `${step} failed: ${reply.message ?? "unknown error"}`, durationMs };
  }
  return {
    ok: true,
    file,
    readback: reply.readback ?? "unavailable",
    durationMs,
    ...(reply.seq === undefined ? {} : { seq: reply.seq }),
    ...(reply.recordError === undefined ? {} : { recordError: reply.recordError }),
    swept: reply.swept ?? 0,
    sweepSkipped: reply.sweepSkipped ?? 0,
    ...(reply.sweepError === undefined ? {} : { sweepError: reply.sweepError }),
    stepsMs: reply.stepsMs ?? {},
  };
}
