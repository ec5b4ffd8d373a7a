import type { Executor } from "@hb/core";
import { parseRecord, type HeartbeatRead, type HeartbeatRecord } from "./heartbeat.js";
import { heartbeatFilePath, recordFilePath } from "./paths.js";

export interface ReadOptions {
  readonly executor: Executor;
  /** The read fails (kind "timeout") at this deadline. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** The executor's stuck-children group (the pool's mount point): a hung pool holds few readers. */
  readonly group?: string;
}

// More than any heartbeat or record; a stray big file cannot flood the reader.
const READ_LIMIT_BYTES = 4096;

/**
 * Read one small file on shared storage in a child process: coreutils `dd`, which starts in a
 * millisecond (a neighbour's check must answer fast), under the C locale so that a missing file
 * is told apart from an unreadable one by its message. `nofollow`: a symbolic link planted there
 * is refused; `nonblock`: a planted FIFO reads as empty at once instead of holding the reader
 * until its deadline. (A device planted there is opened, as upstream's `cat` would: making one
 * on the pool takes root on the NFS server or a client without root squashing.)
 */
export async function readStorageFile(file: string, options: ReadOptions): Promise<HeartbeatRead> {
  const exec = await options.executor.run({
    file: "dd",
    args: [`if=${file}`, "iflag=nofollow,nonblock,fullblock", `bs=${READ_LIMIT_BYTES}`, "count=1", "status=none"],
    env: { LC_ALL: "C" },
    deadlineMs: options.deadlineMs,
    // One block on stdout, one line on stderr, whatever sits at the path.
    outputBounded: true,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.group === undefined ? {} : { group: options.group }),
  });
  if (exec.timedOut) return { kind: "timeout", afterMs: options.deadlineMs };
  if (exec.exitCode === 0) return { kind: "content", text: exec.stdout };
  const message = exec.stderr.trim().split("\n")[0] ?? "";
  const reason = message.slice(message.lastIndexOf(": ") + 2) || `dd exited with ${exec.exitCode ?? exec.signal ?? "?"}`;
  if (reason === "No such file or directory") return { kind: "missing" };
  // O_NOFOLLOW's ELOOP: the file itself is a link (a link loop in the path says the same, also no heartbeat).
  if (reason === "Too many levels of symbolic links") return { kind: "unreadable", message: "a symbolic link: not followed" };
  return { kind: "unreadable", message: reason };
}

/** `hb-<host>` of a pool, read outside this process under the deadline. */
export function readHeartbeat(mountPoint: string, hostId: string, options: ReadOptions): Promise<HeartbeatRead> {
  return readStorageFile(heartbeatFilePath(mountPoint, hostId), { group: mountPoint, ...options });
}

/** `hbx-<host>.json`, or null when it is absent, unreadable or not hb's format. */
export async function readRecord(mountPoint: string, hostId: string, options: ReadOptions): Promise<HeartbeatRecord | null> {
  const read = await readStorageFile(recordFilePath(mountPoint, hostId), { group: mountPoint, ...options });
  return read.kind === "content" ? parseRecord(read.text) : null;
}
