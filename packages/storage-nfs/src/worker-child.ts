import type * as NodeFs from "node:fs";
import type * as NodePath from "node:path";
import type { MountEntry } from "./mounts.js";
import type { ActivityRequest, QemuRequest, ScanRequest, WorkerRequest, WriteRequest } from "./worker.js";

/*
 * What runs in the storage worker, the child process of worker.ts (DESIGN rule 1). Every function
 * here is serialized with Function#toString into one `node -e` source (WORKER_SOURCE): each may
 * use only its parameters, what it declares inside, and the other functions listed in
 * WORKER_FUNCTIONS, never anything imported or declared in this module otherwise (types aside).
 */

/** What every operation gets from the child it runs in. */
interface WorkerContext {
  readonly fs: typeof NodeFs;
  readonly path: typeof NodePath;
  readonly pid: number;
  /** Whether a process exists (a writer of a leftover temporary file). */
  readonly alive: (pid: number) => boolean;
  /** performance.now() when the request arrived. */
  readonly started: number;
}

/** The error of a failed call, as the reply carries it. */
function failure(error: unknown): { code: string; message: string } {
  const e = error as { code?: string; message?: string };
  return { code: e.code ?? "", message: e.message ?? String(error) };
}

function named(message: string, code: string): Error & { code: string } {
  return Object.assign(new Error(message), { code });
}

// What a planted non-file is, in words, for the message that names it (the same words as @hb/config's reader).
function kindName(stat: NodeFs.Stats): string {
  return stat.isFIFO()
    ? "FIFO"
    : stat.isCharacterDevice()
      ? "character device"
      : stat.isBlockDevice()
        ? "block device"
        : stat.isSocket()
          ? "socket"
          : stat.isDirectory()
            ? "folder"
            : stat.isSymbolicLink()
              ? "symbolic link"
              : "special file";
}

function kindOf(stat: NodeFs.Stats): string {
  return `a ${kindName(stat)}`;
}

/** Temporary names carry the writer's pid, so a sweep can tell a dead writer's leftover from a live one's. */
function uniqueSuffix(pid: number): string {
  return `${pid}.${Math.floor(Math.random() * 0xffffffff).toString(16)}.tmp`;
}

// O_DIRECT needs an aligned buffer on block filesystems (NFS needs none); Node cannot align
// one, so slide the read through a larger buffer until the kernel accepts the address.
function readDirect(fs: typeof NodeFs, file: string): string | null {
  let fd: number;
  try {
    // The heartbeat just written; never a link or FIFO swapped in since.
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_DIRECT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    if ((error as { code?: string }).code === "EINVAL") return null;
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafeSlow(8192);
    for (let offset = 0; offset < 4096; offset += 16) {
      try {
        const length = fs.readSync(fd, buffer, offset, 4096, 0);
        return buffer.subarray(offset, offset + length).toString("latin1");
      } catch (error) {
        if ((error as { code?: string }).code !== "EINVAL") throw error;
      }
    }
    return null;
  } finally {
    fs.closeSync(fd);
  }
}

// Temporary names carry the writer's pid: a leftover whose process is gone is safe to remove,
// one whose process still exists (a killed attempt blocked in the kernel) is left for later.
function sweepTemporaries(cx: WorkerContext, folder: string, prefixes: readonly string[]): { swept: number; skipped: number } {
  let swept = 0;
  let skipped = 0;
  for (const name of cx.fs.readdirSync(folder)) {
    const prefix = prefixes.find((candidate) => name.startsWith(candidate));
    if (prefix === undefined) continue;
    const match = /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length));
    if (match === null) continue;
    if (cx.alive(Number(match[1]))) {
      skipped++;
      continue;
    }
    try {
      cx.fs.unlinkSync(cx.path.join(folder, name));
      swept++;
    } catch {
      // Gone already, or another writer's sweep got there first.
    }
  }
  return { swept, skipped };
}

function notRegular(file: string, stat: NodeFs.Stats): Error & { code: string; kind: string } {
  return Object.assign(named(`${file} is ${kindOf(stat)}, not a regular file: not read`, "EFTYPE"), { kind: kindName(stat) });
}

/*
 * @hb/config's safe reader, by hand (this source runs in a child and imports nothing): files a
 * reader finds on shared storage or in /proc may be anything. Only a regular file is opened,
 * as lstat says (opening a device has side effects; a watchdog's arms it); without following
 * a link (O_NOFOLLOW) and without waiting (O_NONBLOCK: a FIFO swapped in after the lstat cannot
 * hold the open); checked again on the descriptor; and no more than maxBytes + 1 bytes read
 * (procfs reports size 0; a file may grow). Refusals: EFTYPE (not a regular file), EFBIG.
 * head: the first maxBytes bytes, whatever the size (a heartbeat's reader), instead of EFBIG past them.
 * followLinks: a system file that is a link (/proc/self/mounts), judged by what it leads to.
 */
function readRegular(
  fs: typeof NodeFs,
  file: string,
  maxBytes: number,
  options: { readonly head?: boolean; readonly followLinks?: boolean } = {},
): { readonly bytes: Buffer; readonly stat: NodeFs.Stats } {
  const follow = options.followLinks === true;
  const before = follow ? fs.statSync(file) : fs.lstatSync(file);
  if (!before.isFile()) throw notRegular(file, before);
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | (follow ? 0 : fs.constants.O_NOFOLLOW) | fs.constants.O_NOCTTY);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ELOOP" && !follow) throw Object.assign(named(`${file} is a symbolic link, not a regular file: not read`, "EFTYPE"), { kind: "symbolic link" });
    throw error;
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw notRegular(file, stat);
    if (options.head === true) {
      // A regular file's read is short only at its end: one read is a heartbeat's head (one round trip).
      const buffer = Buffer.alloc(maxBytes);
      return { bytes: buffer.subarray(0, fs.readSync(fd, buffer, 0, maxBytes, null)), stat };
    }
    if (stat.size > maxBytes) throw named(`${file} is larger than ${maxBytes} bytes: not read`, "EFBIG");
    // procfs reports size 0 and a file may grow: read in chunks, up to one byte past the cap.
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - length));
      const count = fs.readSync(fd, chunk, 0, chunk.length, null);
      if (count === 0) break;
      chunks.push(chunk.subarray(0, count));
      length += count;
      if (length > maxBytes) throw named(`${file} is larger than ${maxBytes} bytes: not read`, "EFBIG");
    }
    return { bytes: Buffer.concat(chunks, length), stat };
  } finally {
    fs.closeSync(fd);
  }
}

/** A field of an fstab-format table: /proc/mounts escapes space, tab, newline and backslash as \ooo. */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

/** `/proc/self/mounts` (fstab format): one entry per line, escaped fields. Malformed lines are skipped. */
export function parseMountTable(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/[ \t]+/);
    if (fields.length < 4 || fields[0]?.startsWith("#")) continue;
    const [source, target, type, options] = fields as [string, string, string, string];
    entries.push({ source: unescapeMountField(source), target: unescapeMountField(target), type, options: options.split(",") });
  }
  return entries;
}

/**
 * NFS mount types. `fuse.*nfs*` covers userspace NFS clients (fuse-nfs), which upstream's
 * `grep nfs` also counts.
 */
export function isNfsType(type: string): boolean {
  return type === "nfs" || type === "nfs4" || (type.startsWith("fuse.") && type.includes("nfs"));
}

function statDevice(fs: typeof NodeFs, mountPoint: string): number {
  return fs.statSync(mountPoint).dev;
}

// The mount point's device, from /proc/self/mountinfo (procfs: no round trip to the storage);
// a stat of the mount point where it is not a mount of its own (a plain folder in tests).
// Numbers as glibc's makedev encodes them, which is what Node's stat reports.
function mountDevice(fs: typeof NodeFs, mountPoint: string): number {
  let table: string;
  try {
    // A fixed procfs path, not input: no storage round trip, nothing planted.
    table = fs.readFileSync("/proc/self/mountinfo", "latin1");
  } catch {
    return statDevice(fs, mountPoint);
  }
  let device: number | null = null;
  for (const line of table.split("\n")) {
    const fields = line.split(" ");
    const where = (fields[4] ?? "").replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (where !== mountPoint) continue;
    const [major, minor] = (fields[2] ?? "").split(":").map(Number);
    if (major === undefined || minor === undefined || !Number.isSafeInteger(major) || !Number.isSafeInteger(minor)) continue;
    device = (minor & 0xff) + (major & 0xfff) * 0x100 + Math.floor(minor / 0x100) * 0x100000 + Math.floor(major / 0x1000) * 0x1000 * 0x100000000;
  }
  return device ?? statDevice(fs, mountPoint);
}

// A heartbeat lands only on the pool's own filesystem: KVMHA (or the file) must not lead off
// the mount. Fails naming what leads where; the extra lookups happen only on this failure.
function checkPlace(fs: typeof NodeFs, stat: NodeFs.Stats, file: string, mountPoint: string, folder: string, expected: number): void {
  if (stat.dev === expected) return;
  // mountinfo's number can differ from what stat reports (btrfs subvolumes): ask the mount point itself.
  if (stat.dev === statDevice(fs, mountPoint)) return;
  let leads = `${file} is on another filesystem than the mount point ${mountPoint}`;
  try {
    if (fs.lstatSync(folder).isSymbolicLink()) leads = `${folder} is a symbolic link to ${fs.readlinkSync(folder)}, off the mount point ${mountPoint}`;
  } catch {
    // The message above says enough.
  }
  throw named(`${leads} (device ${stat.dev}, the mount point's ${expected}): not written there`, "EXDEV");
}

function writeAll(fs: typeof NodeFs, fd: number, text: string): void {
  const written = fs.writeSync(fd, text, 0, "latin1");
  if (written !== Buffer.byteLength(text, "latin1")) throw named(`short write: ${written} of ${text.length} bytes`, "EIO");
}

/** Where a write is, and when each step ended (ms since the request): the reply names the step that failed. */
interface WriteProgress {
  step: string;
  readonly steps: Record<string, number>;
}

function markStep(cx: WorkerContext, progress: WriteProgress, next: string): void {
  progress.steps[progress.step] = Math.round(performance.now() - cx.started);
  progress.step = next;
}

/** A heartbeat file where the request puts it, and the pool it must stay on. */
interface HeartbeatPlace {
  readonly target: string;
  readonly temporary: string;
  readonly mountPoint: string;
}

// Once the file exists, rewrite it in place at the same size: no new block, no new inode,
// so a pool with no free space or a read-only KVMHA keeps its heartbeat, as upstream's does.
// Returns the device it is on.
function rewriteInPlace(cx: WorkerContext, request: WriteRequest, place: HeartbeatPlace, fd: number, progress: WriteProgress): number {
  const { fs } = cx;
  try {
    markStep(cx, progress, "check");
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw named(`${place.target} is ${kindOf(stat)}, not a regular file`, "EFTYPE");
    checkPlace(fs, stat, place.target, place.mountPoint, request.folder, mountDevice(fs, place.mountPoint));
    markStep(cx, progress, "write");
    writeAll(fs, fd, request.content);
    if (stat.size > request.content.length) {
      // An older, longer content (another writer's): cutting it frees blocks, never needs one.
      markStep(cx, progress, "truncate");
      fs.ftruncateSync(fd, request.content.length);
    }
    markStep(cx, progress, "fsync");
    fs.fsyncSync(fd);
    return stat.dev;
  } finally {
    const closing = progress.step;
    progress.step = "close";
    fs.closeSync(fd);
    progress.step = closing;
  }
}

// First write: a temporary file beside it, fsync, rename, fsync of the folder, so that no
// reader ever sees an empty or partial first heartbeat. Returns the device it is on.
function createFirst(cx: WorkerContext, request: WriteRequest, place: HeartbeatPlace, progress: WriteProgress): number {
  const { fs } = cx;
  progress.step = "mkdir";
  try {
    fs.mkdirSync(request.folder);
  } catch (error) {
    if ((error as { code?: string }).code !== "EEXIST") throw error;
  }
  markStep(cx, progress, "create");
  // A new, unguessable name, created exclusively: nothing planted can be followed or waited on.
  const created = fs.openSync(place.temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
  let device: number;
  try {
    const stat = fs.fstatSync(created);
    checkPlace(fs, stat, place.target, place.mountPoint, request.folder, mountDevice(fs, place.mountPoint));
    device = stat.dev;
    markStep(cx, progress, "write");
    writeAll(fs, created, request.content);
    markStep(cx, progress, "fsync");
    fs.fsyncSync(created);
    markStep(cx, progress, "close");
  } finally {
    fs.closeSync(created);
  }
  markStep(cx, progress, "rename");
  fs.renameSync(place.temporary, place.target);
  markStep(cx, progress, "fsync-folder");
  // O_DIRECTORY: only a folder opens (the one just written into); a FIFO there cannot hold the open.
  const folderFd = fs.openSync(request.folder, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    fs.fsyncSync(folderFd);
  } catch (error) {
    // Some filesystems cannot fsync a directory; the rename is then as durable as they make it.
    if ((error as { code?: string }).code !== "EINVAL") throw error;
  } finally {
    fs.closeSync(folderFd);
  }
  return device;
}

// hb.mounts.file, checked right before the write: the pool must be an NFS mount at exactly its
// path, or the heartbeat would land on the local disk under the mount point, a false success.
// Links are followed (/proc/self/mounts is one); anything but a regular file is refused.
function checkNfsMount(cx: WorkerContext, table: string, mountPoint: string): void {
  let text: string;
  try {
    // MOUNT_TABLE_MAX_BYTES (mounts.ts): this source imports nothing.
    text = readRegular(cx.fs, table, 16 * 1024 * 1024, { followLinks: true }).bytes.toString("utf8");
  } catch (error) {
    const { code, message } = failure(error);
    throw named(`cannot read the mount table ${table}: ${message}`, code || "EIO");
  }
  if (parseMountTable(text).some((entry) => entry.target === mountPoint && isNfsType(entry.type))) return;
  throw named(`${mountPoint} is not an NFS mount (per ${table}): not written, it would land on the local disk`, "ENOTNFS");
}

/** Opens the existing heartbeat for its rewrite; null when there is none yet. */
function openExisting(fs: typeof NodeFs, target: string): number | null {
  try {
    // O_NOFOLLOW: a planted symbolic link is refused; O_NONBLOCK: a planted FIFO cannot hold the open.
    return fs.openSync(target, fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ELOOP") throw named(`${target} is a symbolic link: not followed`, "ELOOP");
    if (code === "ENXIO") throw named(`${target} is a FIFO or a device, not a regular file`, "EFTYPE");
    if (code !== "ENOENT") throw error;
    return null;
  }
}

function readBackHeartbeat(fs: typeof NodeFs, target: string, content: string): "verified" | "unavailable" {
  const seen = readDirect(fs, target);
  if (seen !== null && seen !== content) throw named(`read back ${JSON.stringify(seen)}, wrote ${JSON.stringify(content)}`, "EMISMATCH");
  return seen === null ? "unavailable" : "verified";
}

// The record is advisory: rewritten in place without fsync, never a reason to fail the
// heartbeat. Anything but a regular file planted there is skipped, with the reason.
function writeRecord(cx: WorkerContext, request: WriteRequest, fields: string, expected: number | undefined): { seq?: number; recordError?: string } {
  const { fs } = cx;
  const recordFile = cx.path.join(request.folder, `hbx-${request.host}.json`);
  const knowsSeq = request.recordSeq !== undefined;
  const result: { seq?: number; recordError?: string } = {};
  let fd: number | null = null;
  try {
    fd = fs.openSync(recordFile, (knowsSeq ? fs.constants.O_WRONLY : fs.constants.O_RDWR) | fs.constants.O_CREAT | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK, 0o644);
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw named(`${recordFile} is ${kindOf(stat)}, not a regular file: skipped`, "EFTYPE");
    if (stat.dev !== expected) throw named(`${recordFile} is on another filesystem than the heartbeat: skipped`, "EXDEV");
    let seq = request.recordSeq ?? 1;
    if (!knowsSeq && stat.size > 0) {
      const buffer = Buffer.alloc(Math.min(stat.size, 4096));
      const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
      try {
        const old = JSON.parse(buffer.subarray(0, length).toString("utf8")) as { seq?: unknown };
        if (typeof old.seq === "number" && Number.isSafeInteger(old.seq)) seq = old.seq + 1;
      } catch {
        // An unreadable record: the sequence starts again.
      }
    }
    // The fields as the caller serialized them, then seq: what JSON.stringify({ ...fields, seq }) gives.
    let text = `${fields.slice(0, -1)}${fields.length <= 2 ? "" : ","}"seq":${seq}}\n`;
    // Padded with blanks (valid JSON) to the size already there, so that it keeps its blocks.
    const size = Buffer.byteLength(text);
    if (stat.size > size && stat.size <= 4096) text = `${text.slice(0, -1)}${" ".repeat(stat.size - size)}\n`;
    const written = fs.writeSync(fd, text, 0, "utf8");
    if (written !== Buffer.byteLength(text)) throw named(`short write: ${written} of ${Buffer.byteLength(text)} bytes`, "EIO");
    if (stat.size > written) fs.ftruncateSync(fd, written);
    result.seq = seq;
  } catch (error) {
    const { code, message } = failure(error);
    result.recordError =
      code === "ELOOP"
        ? `${recordFile} is a symbolic link: skipped`
        : code === "ENXIO"
          ? `${recordFile} is a FIFO or a device, not a regular file: skipped`
          : code === "EFTYPE" || code === "EXDEV"
            ? message
            : `${code || "error"}: ${message}`;
  } finally {
    if (fd !== null) {
      try {
        fs.closeSync(fd);
      } catch (error) {
        result.recordError ??= `${failure(error).code || "error"}: ${failure(error).message}`;
      }
    }
  }
  return result;
}

/** The heartbeat (in place, or created), then the record and the sweep when the heartbeat was quick. */
function writeOperation(cx: WorkerContext, request: WriteRequest): Record<string, unknown> {
  const progress: WriteProgress = { step: "open", steps: {} };
  const place: HeartbeatPlace = {
    target: cx.path.join(request.folder, `hb-${request.host}`),
    temporary: cx.path.join(request.folder, `.hb-${request.host}.${uniqueSuffix(cx.pid)}`),
    mountPoint: request.mountPoint ?? cx.path.dirname(request.folder),
  };
  let mode: "in-place" | "created" = "in-place";
  let expected: number | undefined;
  let readback: "verified" | "unavailable" | "skipped" = "skipped";
  try {
    if (request.nfsMountsFile !== undefined) {
      progress.step = "mount";
      checkNfsMount(cx, request.nfsMountsFile, place.mountPoint);
      markStep(cx, progress, "open");
    }
    const fd = openExisting(cx.fs, place.target);
    if (fd === null) mode = "created";
    expected = fd === null ? createFirst(cx, request, place, progress) : rewriteInPlace(cx, request, place, fd, progress);
    if (request.readBack === true) {
      markStep(cx, progress, "readback");
      readback = readBackHeartbeat(cx.fs, place.target, request.content);
    }
    markStep(cx, progress, "done");
  } catch (error) {
    if (mode === "created") {
      try {
        cx.fs.unlinkSync(place.temporary);
      } catch {
        // Not created, or already renamed.
      }
    }
    return { ok: false, step: progress.step, ...failure(error), stepsMs: progress.steps };
  }

  const reply: Record<string, unknown> = { ok: true, mode, readback, stepsMs: progress.steps };
  const tookMs = Math.round(performance.now() - cx.started);
  const slow = request.extrasWithinMs !== undefined && tookMs > request.extrasWithinMs;
  if (slow) reply.extrasSkipped = `the heartbeat took ${tookMs} ms, more than ${request.extrasWithinMs} ms: record and sweep left for a faster round`;
  if (request.recordText !== null && !slow) Object.assign(reply, writeRecord(cx, request, request.recordText, expected));
  if (!slow && (request.sweep === true || (request.sweep === "after-create" && mode === "created"))) {
    try {
      const result = sweepTemporaries(cx, request.folder, [`.hb-${request.host}.`, `.hbx-${request.host}.`]);
      reply.swept = result.swept;
      reply.sweepSkipped = result.skipped;
    } catch (error) {
      reply.sweepError = failure(error).message;
    }
  }
  return reply;
}

/** Every `hb-<host>` of the folder (its first 4096 bytes and mtime) and its `hbx-<host>.json` record. */
function scanOperation(cx: WorkerContext, request: ScanRequest): Record<string, unknown> {
  let names: string[];
  try {
    names = cx.fs.readdirSync(request.folder);
  } catch (error) {
    return { ok: false, ...failure(error) };
  }
  names.sort();
  const records = new Set(names.filter((name) => name.startsWith("hbx-") && name.endsWith(".json")));
  const entries: Record<string, unknown>[] = [];
  // What the scan would have read but left alone: one planted FIFO or link costs its own entry, never the pool.
  const skipped: { name: string; kind: string }[] = [];
  const skip = (name: string, error: unknown): boolean => {
    const { kind } = error as { kind?: string };
    if (kind === undefined) return false;
    skipped.push({ name, kind });
    return true;
  };
  for (const name of names) {
    if (!name.startsWith("hb-")) continue;
    const host = name.slice(3);
    const entry: Record<string, unknown> = { host };
    try {
      // Only the first 4096 bytes: more than any heartbeat, and a big stray file costs no more.
      const { bytes, stat } = readRegular(cx.fs, cx.path.join(request.folder, name), 4096, { head: true });
      entry.mtimeMs = stat.mtimeMs;
      entry.text = bytes.toString("latin1");
    } catch (error) {
      if (skip(name, error)) continue;
      entry.code = failure(error).code || "EIO";
    }
    const recordName = `hbx-${host}.json`;
    if (records.has(recordName)) {
      try {
        entry.record = readRegular(cx.fs, cx.path.join(request.folder, recordName), 4096).bytes.toString("utf8");
      } catch (error) {
        // A record is optional: without it the heartbeat alone decides. A planted one is counted.
        skip(recordName, error);
      }
    }
    entries.push(entry);
  }
  skipped.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { ok: true, entries, skipped };
}

/** The newest mtime of the volumes, in epoch seconds, and the errno of each that could not be looked at. */
function newestVolumeWrite(fs: typeof NodeFs, volumes: readonly string[]): { latest: number | null; statErrorCodes: string[] } {
  let latest: number | null = null;
  const statErrorCodes: string[] = [];
  for (const volume of volumes) {
    try {
      // lstat: upstream's `stat -c %Y` does not follow a symbolic link either.
      const seconds = Math.floor(fs.lstatSync(volume).mtimeMs / 1000);
      if (latest === null || seconds > latest) latest = seconds;
    } catch (error) {
      // The caller tells a volume that does not exist (ENOENT) from one it could not look at (EIO).
      statErrorCodes.push(failure(error).code || "EIO");
    }
  }
  return { latest, statErrorCodes };
}

// Leftovers of killed checks. Any neighbour may have written them, so their pid says nothing
// here: age does, measured on the storage's own clock (the ac file just written).
function sweepStaleAcTemporaries(cx: WorkerContext, acFile: string): number {
  // A check lasts seconds; ten minutes leaves room for the clocks of the hosts that wrote them.
  const staleAfterMs = 10 * 60_000;
  const folder = cx.path.dirname(acFile);
  const serverNowMs = cx.fs.lstatSync(acFile).mtimeMs;
  let swept = 0;
  for (const name of cx.fs.readdirSync(folder)) {
    if (!/^\.ac-.+\.\d+\.[0-9a-f]+\.tmp$/.test(name)) continue;
    try {
      const leftover = cx.path.join(folder, name);
      if (serverNowMs - cx.fs.lstatSync(leftover).mtimeMs < staleAfterMs) continue;
      cx.fs.unlinkSync(leftover);
      swept++;
    } catch {
      // Gone already: another neighbour's sweep got there first.
    }
  }
  return swept;
}

/** The VM activity check: the volumes' newest write, the ac file before it and rewritten, stale temporaries swept. */
function activityOperation(cx: WorkerContext, request: ActivityRequest): Record<string, unknown> {
  const { latest, statErrorCodes } = newestVolumeWrite(cx.fs, request.volumes);
  let previous: string | null = null;
  try {
    // Far more than `suspect:latest:time`; a planted FIFO, device or link is refused, never waited on.
    previous = readRegular(cx.fs, request.acFile, 4096).bytes.toString("latin1");
  } catch (error) {
    if ((error as { code?: string }).code !== "ENOENT") return { ok: false, ...failure(error) };
  }
  const reply: Record<string, unknown> = { ok: true, latest, statErrors: statErrorCodes.length, statErrorCodes, previous };
  const temporary = cx.path.join(cx.path.dirname(request.acFile), `.${cx.path.basename(request.acFile)}.${uniqueSuffix(cx.pid)}`);
  try {
    // A new, unguessable name created exclusively ("wx": O_EXCL, so no link or FIFO is followed),
    // renamed over the ac file, which the check has just read as a regular file (or found absent).
    cx.fs.writeFileSync(temporary, `${request.acPrefix}${latest ?? ""}${request.acSuffix}\n`, { flag: "wx" });
    cx.fs.renameSync(temporary, request.acFile);
  } catch (error) {
    try {
      cx.fs.unlinkSync(temporary);
    } catch {
      // Not created.
    }
    reply.writeError = `${failure(error).code || "error"}: ${failure(error).message}`;
    return reply;
  }
  try {
    reply.swept = sweepStaleAcTemporaries(cx, request.acFile);
  } catch (error) {
    reply.sweepError = failure(error).message;
  }
  return reply;
}

/** The qemu processes under a proc root, with their command lines. */
function qemuOperation(cx: WorkerContext, request: QemuRequest): Record<string, unknown> {
  const processes: { pid: number; argv: string[] }[] = [];
  let names: string[];
  try {
    names = cx.fs.readdirSync(request.procRoot);
  } catch (error) {
    return { ok: false, ...failure(error) };
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // ARG_MAX is 2 MiB by default; a planted FIFO (a test's proc root, a bind mount) is skipped, never waited on.
      const argv = readRegular(cx.fs, cx.path.join(request.procRoot, name, "cmdline"), 4 * 1024 * 1024).bytes.toString("utf8").split("\0");
      if (argv[argv.length - 1] === "") argv.pop();
      if (argv.length > 0 && cx.path.basename(argv[0] ?? "").includes("qemu")) processes.push({ pid: Number(name), argv });
    } catch {
      // The process ended while we looked.
    }
  }
  return { ok: true, processes };
}

/** The dispatcher: one operation per request. */
export function storageWorker(fs: typeof NodeFs, path: typeof NodePath, request: WorkerRequest, pid: number, alive: (pid: number) => boolean): unknown {
  const cx: WorkerContext = { fs, path, pid, alive, started: performance.now() };
  switch (request.op) {
    case "write":
      return writeOperation(cx, request);
    case "scan":
      return scanOperation(cx, request);
    case "activity":
      return activityOperation(cx, request);
    case "qemu":
      return qemuOperation(cx, request);
    default:
      return { ok: false, code: "EBADREQUEST", message: `unknown worker operation ${JSON.stringify((request as { op?: unknown }).op)}` };
  }
}

/** Every function the child runs, in one list: WORKER_SOURCE declares each of them. */
const WORKER_FUNCTIONS = [
  failure,
  named,
  kindName,
  kindOf,
  uniqueSuffix,
  readDirect,
  sweepTemporaries,
  notRegular,
  readRegular,
  unescapeMountField,
  parseMountTable,
  isNfsType,
  statDevice,
  mountDevice,
  checkPlace,
  writeAll,
  markStep,
  rewriteInPlace,
  createFirst,
  checkNfsMount,
  openExisting,
  readBackHeartbeat,
  writeRecord,
  writeOperation,
  scanOperation,
  newestVolumeWrite,
  sweepStaleAcTemporaries,
  activityOperation,
  qemuOperation,
  storageWorker,
];

/** The `node -e` source of the storage worker: reads the request on stdin, writes the reply on stdout. */
export const WORKER_SOURCE = [
  '"use strict";',
  // What `ps` shows for a worker left in D state on a hung mount, instead of this whole source.
  'process.title = "hb-storage-worker";',
  'const fs = require("node:fs"), path = require("node:path");',
  "const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (error) { return error.code === \"EPERM\"; } };",
  ...WORKER_FUNCTIONS.map((fn) => fn.toString()),
  "let reply;",
  // The request comes on stdin (descriptor 0, a pipe from the parent), not from a path.
  `try { reply = ${storageWorker.name}(fs, path, JSON.parse(fs.readFileSync(0, "utf8")), process.pid, alive); }`,
  'catch (error) { reply = { ok: false, code: error.code || "EWORKER", message: String(error && error.message || error) }; }',
  "process.stdout.write(JSON.stringify(reply));",
].join("\n");
