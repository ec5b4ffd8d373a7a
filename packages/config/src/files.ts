// Reads use fs's callback API and writes reach fs.promises through node:fs, where it loads on first
// use: loading it (streams, readline) is a tenth of the start of the agent's read path, which only reads.
import { close, closeSync, constants, fstat, fstatSync, lstat, lstatSync, open, openSync, promises as fsp, read, readSync, stat, statSync, type Stats } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { FileTooLargeError, HbError, LocalFileError, NotRegularFileError, type FileKind } from "./errors.js";

export { FileTooLargeError, LocalFileError, NotRegularFileError, type FileKind } from "./errors.js";

/** How a local file is read: a cap, and whether a symbolic link at the path is followed. */
export interface ReadLocalFileOptions {
  /** More bytes than this is a FileTooLargeError; no more than this plus one is ever read. */
  readonly maxBytes: number;
  /**
   * Follow a symbolic link at the path's last component. Off by default: a file hb owns is never
   * a link, and one planted there would redirect hb to a file of the planter's choosing.
   */
  readonly followLinks?: boolean;
}

/** How a local file is replaced. */
export interface WriteLocalFileOptions {
  /**
   * A symbolic link at the path: replace its target and keep the link (on), or refuse with a
   * NotRegularFileError (off, the default, for files hb owns).
   */
  readonly followLinks?: boolean;
  /** Mode of a file that does not exist yet, before the umask (default 0o644). An existing file keeps its own. */
  readonly mode?: number;
}

// O_NONBLOCK: an open of a FIFO that appeared after the check returns at once instead of waiting for
// a writer. O_NOCTTY: a terminal never becomes hb's controlling terminal.
const READ_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;
const CHUNK = 64 * 1024;

/**
 * Read a local regular file whole, safely against whatever sits at the path: a FIFO, device,
 * socket or folder is a NotRegularFileError before it is opened (and again on the open
 * descriptor, for one swapped in between); more than `maxBytes` is a FileTooLargeError, found
 * without reading past the cap (a file that grows while read included); a symbolic link is refused
 * unless `followLinks`; anything the system refuses is a LocalFileError naming the path.
 */
export async function readLocalFile(path: string, options: ReadLocalFileOptions): Promise<Buffer> {
  checkCap(options.maxBytes);
  const follow = options.followLinks ?? false;
  const before = await settle<Stats>((done) => (follow ? stat : lstat)(path, done)).catch((error: unknown) => Promise.reject(systemError(path, "read", error)));
  checkReadable(path, before, options.maxBytes);
  const descriptor = await settle<number>((done) => open(path, READ_FLAGS | (follow ? 0 : constants.O_NOFOLLOW), done)).catch((error: unknown) => Promise.reject(openError(path, "read", error)));
  try {
    checkReadable(path, await settle<Stats>((done) => fstat(descriptor, done)), options.maxBytes);
    return await readCapped(path, options.maxBytes, (buffer) => settle<number>((done) => read(descriptor, buffer, 0, buffer.length, null, done)));
  } catch (error) {
    throw systemError(path, "read", error);
  } finally {
    await settle<void>((done) => close(descriptor, done)).catch(() => undefined);
  }
}

/** One call of fs's callback API as a promise of its first result. */
function settle<T>(start: (done: (error: NodeJS.ErrnoException | null, value: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((error, value) => (error === null ? resolve(value) : reject(error))));
}

/** readLocalFile for the few callers that cannot wait (start-up checks, exit paths); same rules. */
export function readLocalFileSync(path: string, options: ReadLocalFileOptions): Buffer {
  checkCap(options.maxBytes);
  const follow = options.followLinks ?? false;
  let descriptor: number;
  try {
    checkReadable(path, follow ? statSync(path) : lstatSync(path), options.maxBytes);
    descriptor = openSync(path, READ_FLAGS | (follow ? 0 : constants.O_NOFOLLOW));
  } catch (error) {
    throw openError(path, "read", error);
  }
  try {
    checkReadable(path, fstatSync(descriptor), options.maxBytes);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buffer = Buffer.allocUnsafe(Math.min(CHUNK, options.maxBytes + 1 - total));
      const count = readSync(descriptor, buffer, 0, buffer.length, null);
      if (count === 0) return Buffer.concat(chunks, total);
      chunks.push(buffer.subarray(0, count));
      total += count;
      if (total > options.maxBytes) throw tooLarge(path, options.maxBytes);
    }
  } catch (error) {
    throw systemError(path, "read", error);
  } finally {
    closeSync(descriptor);
  }
}

/**
 * Replace a local regular file atomically: a temporary file beside it, written, fsync'ed, given
 * the old file's owner and mode, renamed over it, then the folder fsync'ed. A crash leaves the
 * old or the new file, never a half-written one. A FIFO, device, socket or folder at the path is
 * never replaced (NotRegularFileError); neither is a symbolic link, unless `followLinks`, in which
 * case the link's target is replaced and the link kept. An owner that cannot be kept (not root,
 * someone else's file) is a LocalFileError and the file is left as it was.
 */
export async function writeLocalFile(path: string, data: string | Uint8Array, options: WriteLocalFileOptions = {}): Promise<void> {
  const target = await writableTarget(path, options.followLinks ?? false);
  const previous = await existing(path, target);
  // Loaded here, not at start-up: only a write needs it, and every hb start pays for its imports.
  const { randomBytes } = await import("node:crypto");
  const temporary = join(dirname(target), `.${basename(target)}.hb-${randomBytes(6).toString("hex")}`);
  let handle: FileHandle | undefined;
  try {
    handle = await fsp.open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, previous === undefined ? (options.mode ?? 0o644) : 0o600);
    await handle.writeFile(data);
    await handle.sync();
    if (previous !== undefined) {
      const created = await handle.stat();
      if (created.uid !== previous.uid || created.gid !== previous.gid) {
        await handle.chown(previous.uid, previous.gid).catch((error: unknown) => {
          throw new LocalFileError(path, `cannot write ${path}: its owner ${previous.uid}:${previous.gid} cannot be kept (${reasonOf(error)}); left unchanged`, { cause: error, errno: errnoOf(error) });
        });
      }
      // After chown, which clears set-id bits.
      await handle.chmod(previous.mode & 0o7777);
    }
    await handle.close();
    handle = undefined;
    // Checked again just before the rename: something else may have been put there meanwhile.
    await existing(path, target);
    await fsp.rename(temporary, target);
  } catch (error) {
    await handle?.close().catch(() => undefined);
    await fsp.unlink(temporary).catch(() => undefined);
    throw systemError(path, "write", error);
  }
  try {
    const folder = await fsp.open(dirname(target), constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch (error) {
    throw systemError(path, "write", error);
  }
}

/** The path to replace: the path itself, or with `follow` the file a symbolic link leads to. */
async function writableTarget(path: string, follow: boolean): Promise<string> {
  const entry = await fsp.lstat(path).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(systemError(path, "write", error))));
  if (entry === undefined || !entry.isSymbolicLink()) return path;
  if (!follow) throw notRegular(path, path, "symbolic link", "write");
  // A dangling link is refused: writing would create a file wherever it points.
  return fsp.realpath(path).catch((error: unknown) => Promise.reject(systemError(path, "write", error)));
}

/** The current file at `target`, undefined when there is none; anything but a regular file is refused. */
async function existing(path: string, target: string): Promise<Stats | undefined> {
  const entry = await fsp.lstat(target).catch((error: NodeJS.ErrnoException) => (error.code === "ENOENT" ? undefined : Promise.reject(systemError(path, "write", error))));
  if (entry !== undefined && !entry.isFile()) throw notRegular(path, target, kindOf(entry), "write");
  return entry;
}

// A caller's mistake, not the file's: said plainly rather than as a failed read.
function checkCap(maxBytes: number): void {
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 0) throw new RangeError(`maxBytes must be a whole number of bytes, not ${maxBytes}`);
}

function checkReadable(path: string, stats: Stats, maxBytes: number): void {
  if (!stats.isFile()) throw notRegular(path, path, kindOf(stats), "read");
  if (stats.size > maxBytes) throw tooLarge(path, maxBytes);
}

async function readCapped(path: string, maxBytes: number, read: (buffer: Buffer) => Promise<number>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, maxBytes + 1 - total));
    const count = await read(buffer);
    if (count === 0) return Buffer.concat(chunks, total);
    chunks.push(buffer.subarray(0, count));
    total += count;
    if (total > maxBytes) throw tooLarge(path, maxBytes);
  }
}

function kindOf(stats: Stats): FileKind {
  if (stats.isDirectory()) return "folder";
  if (stats.isFIFO()) return "FIFO";
  if (stats.isSocket()) return "socket";
  if (stats.isCharacterDevice()) return "character device";
  if (stats.isBlockDevice()) return "block device";
  if (stats.isSymbolicLink()) return "symbolic link";
  return "special file";
}

function notRegular(path: string, target: string, kind: FileKind, verb: "read" | "write"): NotRegularFileError {
  const where = target === path ? path : `${path} (→ ${target})`;
  if (kind === "symbolic link") return new NotRegularFileError(path, kind, `${path} is a symbolic link; hb does not follow links to files it owns: not ${verb === "read" ? "read" : "written"}`);
  const action = verb === "read" ? "not read" : "not replaced";
  return new NotRegularFileError(path, kind, `${where} is a ${kind}, not a regular file: ${action}`);
}

function tooLarge(path: string, maxBytes: number): FileTooLargeError {
  return new FileTooLargeError(path, maxBytes, `${path} is larger than ${formatBytes(maxBytes)}: not read`);
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** An open that failed: ELOOP under O_NOFOLLOW is a link put there after the check. */
function openError(path: string, verb: "read" | "write", error: unknown): Error {
  if (errnoOf(error) === "ELOOP") return notRegular(path, path, "symbolic link", verb);
  return systemError(path, verb, error);
}

/** hb's own errors pass through; a system error becomes a LocalFileError with one line naming the path. */
function systemError(path: string, verb: "read" | "write", error: unknown): Error {
  if (error instanceof HbError) return error;
  const errno = errnoOf(error);
  return new LocalFileError(path, `cannot ${verb} ${path}: ${reasonOf(error)}`, { cause: error, errno });
}

const REASONS: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOTDIR: "a folder in the path is not a folder",
  ELOOP: "too many symbolic links",
  EISDIR: "is a folder",
  EROFS: "read-only file system",
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EIO: "I/O error",
  ENAMETOOLONG: "name too long",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
};

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

function reasonOf(error: unknown): string {
  const errno = errnoOf(error);
  if (errno !== undefined && REASONS[errno] !== undefined) return REASONS[errno];
  const message = error instanceof Error ? error.message : String(error);
  return message.split("\n")[0] ?? message;
}
