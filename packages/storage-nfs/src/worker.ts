import { dirname } from "node:path";
import type { Executor, ExecResult } from "@hb/core";
import { WORKER_SOURCE } from "./worker-child.js";

/**
 * Storage I/O runs in a child process (DESIGN rule 1): a hung NFS mount blocks the caller in
 * the kernel, and inside Node it pins a libuv pool thread for good. The child is a plain
 * `node -e` of worker-child.ts's functions (one per operation behind one dispatcher), executed
 * through the Executor with an argument array and its request on stdin, so it works the same
 * from this package, from a bundle and in tests. This file holds the requests, the replies and
 * the parent's side.
 */

/** A field of the richer record, written by the heartbeat writer beside `hb-<host>`. */
export interface RecordFields {
  readonly [field: string]: string | number | boolean | null;
}

export interface WriteRequest {
  readonly op: "write";
  readonly folder: string;
  readonly host: string;
  /** The heartbeat, at the fixed size every later write keeps (see write.ts). */
  readonly content: string;
  /** The pool's mount point: the heartbeat must be on its filesystem. Default: the folder's parent. */
  readonly mountPoint?: string;
  /**
   * A mount table (hb.mounts.file) in which the mount point must be an NFS mount, checked right
   * before the write: else nothing is written (step "mount", code ENOTNFS, or the table's error).
   */
  readonly nfsMountsFile?: string;
  /**
   * Write `hbx-<host>.json` too, in place: these fields as JSON text (an object without `seq`),
   * followed by `seq`, which is `recordSeq` or the previous record's plus one. Text, so that the
   * native worker writes exactly what the Node one does without a JSON library.
   */
  readonly recordText: string | null;
  /** The record's sequence number, when the caller keeps it; else it is read from the record. */
  readonly recordSeq?: number;
  /**
   * Remove temporary files that killed attempts left behind: always, never, or only after a
   * write that created the file (only first writes use temporary files).
   */
  readonly sweep: boolean | "after-create";
  /** Read the heartbeat back with O_DIRECT after the fsync (one more round trip; off by default). */
  readonly readBack?: boolean;
  /**
   * The record and the sweep come after the heartbeat, in the same worker: they are left out
   * when the heartbeat itself took longer than this, so that on slow storage they never push
   * the attempt past its deadline.
   */
  readonly extrasWithinMs?: number;
}

export interface ScanRequest {
  readonly op: "scan";
  readonly folder: string;
}

export interface ActivityRequest {
  readonly op: "activity";
  readonly volumes: readonly string[];
  readonly acFile: string;
  /** Written to the ac file around the newest mtime: `<prefix><latest><suffix>`. */
  readonly acPrefix: string;
  readonly acSuffix: string;
}

export interface QemuRequest {
  readonly op: "qemu";
  readonly procRoot: string;
}

export type WorkerRequest = WriteRequest | ScanRequest | ActivityRequest | QemuRequest;

/**
 * Where a write stopped: the first failing step. `mount`: the pool is not an NFS mount in the
 * request's mount table, or the table cannot be read; `open`: the existing heartbeat could not be
 * opened for its in-place rewrite; `check`: it is not a regular file, or not on the pool's own
 * filesystem; `truncate`: an older, longer content could not be cut to the fixed size.
 */
export type WriteStep = "mount" | "open" | "check" | "mkdir" | "create" | "write" | "truncate" | "fsync" | "close" | "rename" | "fsync-folder" | "readback";

export interface WriteReply {
  readonly ok: boolean;
  readonly step?: WriteStep;
  readonly code?: string;
  readonly message?: string;
  /** "in-place": the existing file rewritten; "created": first write, by temporary file and rename. */
  readonly mode?: "in-place" | "created";
  /**
   * "verified": read back through O_DIRECT and equal; "unavailable": asked, but the filesystem
   * refuses O_DIRECT; "skipped": not asked. Without "verified", the fsync is the proof.
   */
  readonly readback?: "verified" | "unavailable" | "skipped";
  readonly seq?: number;
  readonly recordError?: string;
  /** Why the record and the sweep were left out: the heartbeat was slow (see extrasWithinMs). */
  readonly extrasSkipped?: string;
  readonly swept?: number;
  /** Leftovers of attempts whose process still exists (e.g. blocked in the kernel). */
  readonly sweepSkipped?: number;
  readonly sweepError?: string;
  readonly stepsMs?: Readonly<Record<string, number>>;
}

export interface ScanReplyEntry {
  readonly host: string;
  readonly text?: string;
  readonly code?: string;
  readonly mtimeMs?: number;
  readonly record?: string;
}

/** An entry the scan would have read, left alone: not a regular file (FIFO, device, socket, link, folder). */
export interface ScanSkippedEntry {
  readonly name: string;
  /** What it is, in words: "FIFO", "character device", "symbolic link"… */
  readonly kind: string;
}

export interface ScanReply {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly entries?: readonly ScanReplyEntry[];
  readonly skipped?: readonly ScanSkippedEntry[];
}

export interface ActivityReply {
  readonly ok: boolean;
  /** Newest mtime (epoch seconds) over the volumes that could be stat'ed; null when none. */
  readonly latest?: number | null;
  readonly statErrors?: number;
  /** The errno of each volume that could not be stat'ed (ENOENT, EIO, ELOOP…), in the order given. */
  readonly statErrorCodes?: readonly string[];
  /** The ac file before this check; null when it did not exist. */
  readonly previous?: string | null;
  readonly writeError?: string;
  /** Leftover `.ac-*.tmp` files of killed checks (any host's) removed, ten minutes after they were written. */
  readonly swept?: number;
  readonly sweepError?: string;
  readonly code?: string;
  readonly message?: string;
}

export interface QemuReply {
  readonly ok: boolean;
  readonly processes?: readonly { readonly pid: number; readonly argv: readonly string[] }[];
  readonly code?: string;
  readonly message?: string;
}

export interface WorkerRun<R> {
  /** The child's reply; null when it timed out, was aborted, or answered nonsense. */
  readonly reply: R | null;
  readonly exec: ExecResult;
}

/** Options every storage operation shares. */
export interface StorageCallOptions {
  readonly executor: Executor;
  /** The operation fails at this deadline, whatever the child does afterwards. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** The node binary that runs the worker; default: the running one. */
  readonly nodePath?: string;
  /**
   * The native storage worker (hb-storage-worker) to send writes and scans to, kept alive per
   * group by the executor between requests; without it, each request is a `node -e` child.
   */
  readonly nativeWorker?: string;
  /**
   * The executor's group for this run, under which stuck children are capped. Default: the
   * pool's mount point for write, scan and activity (a hung pool holds at most the executor's
   * cap of stuck workers); none for qemu discovery.
   */
  readonly group?: string;
}

/** The pool a request touches: its mount point, the executor's group for stuck workers. */
export function poolOf(request: WorkerRequest): string | undefined {
  switch (request.op) {
    case "write":
      return request.mountPoint ?? dirname(request.folder);
    case "scan":
      return dirname(request.folder);
    case "activity":
      return dirname(dirname(request.acFile));
    case "qemu":
      return undefined;
  }
}

/** The operations the native worker does; the others always run in a Node child. */
const NATIVE_OPS: ReadonlySet<WorkerRequest["op"]> = new Set(["write", "scan"]);

export async function runWorker<R>(request: WorkerRequest, options: StorageCallOptions): Promise<WorkerRun<R>> {
  const group = options.group ?? poolOf(request);
  const native = options.nativeWorker !== undefined && NATIVE_OPS.has(request.op) ? options.nativeWorker : undefined;
  // One worker kept per pool; a request without a pool gets its own key, still kept.
  const keepAlive = native === undefined ? undefined : (group ?? native);
  const exec = await options.executor.run({
    ...(native === undefined ? { file: options.nodePath ?? process.execPath, args: ["--no-warnings", "-e", WORKER_SOURCE] } : { file: native, args: [] }),
    input: JSON.stringify(request),
    deadlineMs: options.deadlineMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(group === undefined ? {} : { group }),
    ...(keepAlive === undefined ? {} : { keepAlive }),
  });
  if (exec.timedOut || exec.exitCode !== 0) return { reply: null, exec };
  const reply = parseReply<R>(exec.stdout);
  // A kept worker that answers nonsense is out of step with its requests: the next one starts afresh.
  if (reply === null && keepAlive !== undefined) options.executor.release?.(keepAlive);
  return { reply, exec };
}

function parseReply<R>(text: string): R | null {
  try {
    const value = JSON.parse(text) as unknown;
    return typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as { ok?: unknown }).ok === "boolean" ? (value as R) : null;
  } catch {
    return null;
  }
}

/** Why a worker run gave no reply, in words. */
export function describeNoReply(exec: ExecResult, deadlineMs: number, signal?: AbortSignal): string {
  if (exec.refused === "stuck-cap") return `not started, counted as a timeout: ${exec.stderr.replace(/^[^:]*: not started: /, "")}`;
  if (exec.spawnError !== undefined) return `the storage worker could not be started (${exec.spawnError})`;
  if (exec.timedOut && signal?.aborted) return `abandoned by the caller after ${Math.round(exec.durationMs)} ms (storage hung or too slow)`;
  if (exec.timedOut) return `no answer within ${deadlineMs} ms (storage hung or too slow)`;
  if (exec.exitCode === 0) return `the storage worker answered something that is not a reply: ${JSON.stringify(exec.stdout.slice(0, 80))}`;
  const detail = exec.stderr.trim().split("\n").at(-1) ?? "";
  return `storage worker exited with ${exec.exitCode ?? exec.signal ?? "?"}${detail === "" ? "" : `: ${detail}`}`;
}
