import { HbError } from "@hb/errors";
import { judgeHeartbeat, parseRecord, type HeartbeatRecord, type NeighbourVerdict } from "./heartbeat.js";
import { heartbeatFolder, validateHostId } from "./paths.js";
import { describeNoReply, runWorker, type ScanReply, type ScanSkippedEntry, type StorageCallOptions } from "./worker.js";

export class ScanError extends HbError {
  constructor(reason: string) {
    super("SCAN_FAILED", `cannot scan the heartbeat folder: ${reason}`);
  }
}

export interface ScanOptions extends StorageCallOptions {
  readonly mountPoint: string;
  readonly nowEpochSeconds: number;
  readonly maxAgeSeconds: number;
}

export interface ScannedHeartbeat extends NeighbourVerdict {
  readonly host: string;
  /** The file's mtime (set by the NFS server's clock), epoch seconds; null when unreadable. */
  readonly mtimeEpochSeconds: number | null;
  /**
   * Heartbeat content minus mtime: how far the writer's clock was from the server's when it
   * wrote (a second of rounding either way). Large values explain ages that look wrong.
   */
  readonly writerClockOffsetSeconds: number | null;
  readonly record: HeartbeatRecord | null;
}

export interface ScanResult {
  readonly heartbeats: readonly ScannedHeartbeat[];
  /** Files named hb-… that are not a valid host id (not written by a CloudStack host). */
  readonly ignored: readonly string[];
  /**
   * `hb-*` and `hbx-*.json` entries that are not regular files (a FIFO, device, socket, symbolic
   * link or folder planted there): left alone, by name and kind, sorted by name.
   */
  readonly skipped: readonly ScanSkippedEntry[];
  readonly durationMs: number;
}

/**
 * Every host's heartbeat in the pool with age and verdict: one child process lists the folder
 * and reads every `hb-*` (and `hbx-*.json`) file, so the cost is one process start plus the
 * reads, for thousands of hosts. Anything there but a regular file is skipped and counted,
 * never opened: a planted FIFO would otherwise hold the whole scan until its deadline.
 */
export async function scanHeartbeats(options: ScanOptions): Promise<ScanResult> {
  const { reply, exec } = await runWorker<ScanReply>({ op: "scan", folder: heartbeatFolder(options.mountPoint) }, options);
  if (reply === null) throw new ScanError(describeNoReply(exec, options.deadlineMs, options.signal));
  if (!reply.ok) throw new ScanError(`${reply.code ?? ""} ${reply.message ?? ""}`.trim());
  const heartbeats: ScannedHeartbeat[] = [];
  const ignored: string[] = [];
  for (const entry of reply.entries ?? []) {
    try {
      validateHostId(entry.host);
    } catch {
      ignored.push(`hb-${entry.host}`);
      continue;
    }
    const verdict = judgeHeartbeat(entry.text === undefined ? { kind: "unreadable", message: entry.code ?? "EIO" } : { kind: "content", text: entry.text }, options);
    const mtimeEpochSeconds = entry.mtimeMs === undefined ? null : Math.floor(entry.mtimeMs / 1000);
    heartbeats.push({
      host: entry.host,
      ...verdict,
      mtimeEpochSeconds,
      writerClockOffsetSeconds: verdict.heartbeatEpochSeconds === null || mtimeEpochSeconds === null ? null : verdict.heartbeatEpochSeconds - mtimeEpochSeconds,
      record: parseRecord(entry.record),
    });
  }
  heartbeats.sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0));
  return { heartbeats, ignored, skipped: reply.skipped ?? [], durationMs: exec.durationMs };
}
