import type * as NodeFs from "node:fs";
import type * as NodePath from "node:path";
import { dirname } from "node:path";
import type { Executor, ExecResult } from "@hb/core";

/**
 * Storage I/O runs in a child process (DESIGN rule 1): a hung NFS mount blocks the caller in
 * the kernel, and inside Node it pins a libuv pool thread for good. The child is a plain
 * `node -e` of `storageWorker` below, executed through the Executor with an argument array and
 * its request on stdin, so it works the same from this package, from a bundle and in tests.
 *
 * `storageWorker` is serialized with Function#toString: it must use only its parameters and
 * what it declares inside, never anything imported or declared in this module.
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
  /** Write `hbx-<host>.json` too, in place; its `seq` is `recordSeq`, or the previous record's plus one. */
  readonly record: RecordFields | null;
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
 * Where a write stopped: the first failing step. `open`: the existing heartbeat could not be
 * opened for its in-place rewrite; `check`: it is not a regular file, or not on the pool's own
 * filesystem; `truncate`: an older, longer content could not be cut to the fixed size.
 */
export type WriteStep = "open" | "check" | "mkdir" | "create" | "write" | "truncate" | "fsync" | "close" | "rename" | "fsync-folder" | "readback";

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

export function storageWorker(fs: typeof NodeFs, path: typeof NodePath, request: WorkerRequest, pid: number, alive: (pid: number) => boolean): unknown {
  const started = performance.now();
  const fail = (error: unknown) => {
    const e = error as { code?: string; message?: string };
    return { code: e.code ?? "", message: e.message ?? String(error) };
  };

  // O_DIRECT needs an aligned buffer on block filesystems (NFS needs none); Node cannot align
  // one, so slide the read through a larger buffer until the kernel accepts the address.
  const readDirect = (file: string): string | null => {
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
  };

  // Temporary names carry the writer's pid: a leftover whose process is gone is safe to remove,
  // one whose process still exists (a killed attempt blocked in the kernel) is left for later.
  const sweep = (folder: string, prefixes: readonly string[]) => {
    let swept = 0;
    let skipped = 0;
    for (const name of fs.readdirSync(folder)) {
      const prefix = prefixes.find((candidate) => name.startsWith(candidate));
      if (prefix === undefined) continue;
      const match = /^(\d+)\.[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length));
      if (match === null) continue;
      if (alive(Number(match[1]))) {
        skipped++;
        continue;
      }
      try {
        fs.unlinkSync(path.join(folder, name));
        swept++;
      } catch {
        // Gone already, or another writer's sweep got there first.
      }
    }
    return { swept, skipped };
  };

  // A check lasts seconds; ten minutes leaves room for the clocks of the hosts that wrote them.
  const STALE_AC_TEMPORARY_MS = 10 * 60_000;

  const unique = () => `${pid}.${Math.floor(Math.random() * 0xffffffff).toString(16)}.tmp`;

  const named = (message: string, code: string) => Object.assign(new Error(message), { code });

  // What a planted non-file is, in words, for the message that names it (the same words as @hb/config's reader).
  const kindName = (stat: NodeFs.Stats) =>
    stat.isFIFO()
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
  const kindOf = (stat: NodeFs.Stats) => `a ${kindName(stat)}`;

  /*
   * @hb/config's safe reader, by hand (this source runs in a child and imports nothing): files a
   * reader finds on shared storage or in /proc may be anything. Only a regular file is opened,
   * as lstat says (opening a device has side effects; a watchdog's arms it); without following
   * a link (O_NOFOLLOW) and without waiting (O_NONBLOCK: a FIFO swapped in after the lstat cannot
   * hold the open); checked again on the descriptor; and no more than maxBytes + 1 bytes read
   * (procfs reports size 0; a file may grow). Refusals: EFTYPE (not a regular file), EFBIG.
   */
  const READ_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW | fs.constants.O_NOCTTY;
  const notRegular = (file: string, stat: NodeFs.Stats) => Object.assign(named(`${file} is ${kindOf(stat)}, not a regular file: not read`, "EFTYPE"), { kind: kindName(stat) });
  // head: the first maxBytes bytes, whatever the size (a heartbeat's reader), instead of EFBIG past them.
  const readRegular = (file: string, maxBytes: number, options: { readonly head?: boolean } = {}): { readonly bytes: Buffer; readonly stat: NodeFs.Stats } => {
    const before = fs.lstatSync(file);
    if (!before.isFile()) throw notRegular(file, before);
    let fd: number;
    try {
      fd = fs.openSync(file, READ_FLAGS);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === "ELOOP") throw Object.assign(named(`${file} is a symbolic link, not a regular file: not read`, "EFTYPE"), { kind: "symbolic link" });
      throw error;
    }
    try {
      const stat = fs.fstatSync(fd);
      if (!stat.isFile()) throw notRegular(file, stat);
      const head = options.head === true;
      if (!head && stat.size > maxBytes) throw named(`${file} is larger than ${maxBytes} bytes: not read`, "EFBIG");
      const buffer = Buffer.alloc(head ? maxBytes : maxBytes + 1);
      let length = 0;
      // A regular file's read is short only at its end, so one read is a heartbeat's head (one round
      // trip); procfs and growing files need the loop.
      while (length < buffer.length) {
        const count = fs.readSync(fd, buffer, length, buffer.length - length, null);
        if (count === 0 || head) {
          length += count;
          break;
        }
        length += count;
      }
      if (length > maxBytes) throw named(`${file} is larger than ${maxBytes} bytes: not read`, "EFBIG");
      return { bytes: buffer.subarray(0, length), stat };
    } finally {
      fs.closeSync(fd);
    }
  };

  // The mount point's device, from /proc/self/mountinfo (procfs: no round trip to the storage);
  // a stat of the mount point where it is not a mount of its own (a plain folder in tests).
  // Numbers as glibc's makedev encodes them, which is what Node's stat reports.
  const statDevice = (mountPoint: string) => fs.statSync(mountPoint).dev;
  const mountDevice = (mountPoint: string): number => {
    let table: string;
    try {
      // A fixed procfs path, not input: no storage round trip, nothing planted.
      table = fs.readFileSync("/proc/self/mountinfo", "latin1");
    } catch {
      return statDevice(mountPoint);
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
    return device ?? statDevice(mountPoint);
  };

  // A heartbeat lands only on the pool's own filesystem: KVMHA (or the file) must not lead off
  // the mount. Fails naming what leads where; the extra lookups happen only on this failure.
  const checkPlace = (stat: NodeFs.Stats, file: string, mountPoint: string, folder: string, expected: number) => {
    if (stat.dev === expected) return;
    // mountinfo's number can differ from what stat reports (btrfs subvolumes): ask the mount point itself.
    if (stat.dev === statDevice(mountPoint)) return;
    let leads = `${file} is on another filesystem than the mount point ${mountPoint}`;
    try {
      if (fs.lstatSync(folder).isSymbolicLink()) leads = `${folder} is a symbolic link to ${fs.readlinkSync(folder)}, off the mount point ${mountPoint}`;
    } catch {
      // The message above says enough.
    }
    throw named(`${leads} (device ${stat.dev}, the mount point's ${expected}): not written there`, "EXDEV");
  };

  const writeAll = (fd: number, text: string) => {
    const written = fs.writeSync(fd, text, 0, "latin1");
    if (written !== Buffer.byteLength(text, "latin1")) throw named(`short write: ${written} of ${text.length} bytes`, "EIO");
  };

  if (request.op === "write") {
    const steps: Record<string, number> = {};
    let step = "open";
    const mark = (name: string) => {
      steps[step] = Math.round(performance.now() - started);
      step = name;
    };
    const mountPoint = request.mountPoint ?? path.dirname(request.folder);
    const target = path.join(request.folder, `hb-${request.host}`);
    const temporary = path.join(request.folder, `.hb-${request.host}.${unique()}`);
    // O_NOFOLLOW: a planted symbolic link is refused; O_NONBLOCK: a planted FIFO cannot hold the open.
    const openFlags = fs.constants.O_WRONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK;
    let mode: "in-place" | "created" = "in-place";
    let expected: number | undefined;
    let readback: "verified" | "unavailable" | "skipped" = "skipped";
    try {
      let fd: number | null = null;
      try {
        fd = fs.openSync(target, openFlags);
      } catch (error) {
        const code = (error as { code?: string }).code;
        if (code === "ELOOP") throw named(`${target} is a symbolic link: not followed`, "ELOOP");
        if (code === "ENXIO") throw named(`${target} is a FIFO or a device, not a regular file`, "EFTYPE");
        if (code !== "ENOENT") throw error;
      }
      if (fd !== null) {
        // Once the file exists, rewrite it in place at the same size: no new block, no new inode,
        // so a pool with no free space or a read-only KVMHA keeps its heartbeat, as upstream's does.
        try {
          mark("check");
          const stat = fs.fstatSync(fd);
          if (!stat.isFile()) throw named(`${target} is ${kindOf(stat)}, not a regular file`, "EFTYPE");
          checkPlace(stat, target, mountPoint, request.folder, mountDevice(mountPoint));
          expected = stat.dev;
          mark("write");
          writeAll(fd, request.content);
          if (stat.size > request.content.length) {
            // An older, longer content (another writer's): cutting it frees blocks, never needs one.
            mark("truncate");
            fs.ftruncateSync(fd, request.content.length);
          }
          mark("fsync");
          fs.fsyncSync(fd);
        } finally {
          const closing = step;
          step = "close";
          fs.closeSync(fd);
          step = closing;
        }
      } else {
        // First write: a temporary file beside it, fsync, rename, fsync of the folder, so that no
        // reader ever sees an empty or partial first heartbeat.
        mode = "created";
        step = "mkdir";
        try {
          fs.mkdirSync(request.folder);
        } catch (error) {
          if ((error as { code?: string }).code !== "EEXIST") throw error;
        }
        mark("create");
        // A new, unguessable name, created exclusively: nothing planted can be followed or waited on.
        const created = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o644);
        try {
          const stat = fs.fstatSync(created);
          checkPlace(stat, target, mountPoint, request.folder, mountDevice(mountPoint));
          expected = stat.dev;
          mark("write");
          writeAll(created, request.content);
          mark("fsync");
          fs.fsyncSync(created);
          mark("close");
        } finally {
          fs.closeSync(created);
        }
        mark("rename");
        fs.renameSync(temporary, target);
        mark("fsync-folder");
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
      }
      if (request.readBack === true) {
        mark("readback");
        const seen = readDirect(target);
        if (seen !== null && seen !== request.content) {
          throw named(`read back ${JSON.stringify(seen)}, wrote ${JSON.stringify(request.content)}`, "EMISMATCH");
        }
        readback = seen === null ? "unavailable" : "verified";
      }
      mark("done");
    } catch (error) {
      if (mode === "created") {
        try {
          fs.unlinkSync(temporary);
        } catch {
          // Not created, or already renamed.
        }
      }
      return { ok: false, step, ...fail(error), stepsMs: steps };
    }

    const reply: Record<string, unknown> = { ok: true, mode, readback, stepsMs: steps };
    const tookMs = Math.round(performance.now() - started);
    const slow = request.extrasWithinMs !== undefined && tookMs > request.extrasWithinMs;
    if (slow) reply.extrasSkipped = `the heartbeat took ${tookMs} ms, more than ${request.extrasWithinMs} ms: record and sweep left for a faster round`;
    if (request.record !== null && !slow) {
      // The record is advisory: rewritten in place without fsync, never a reason to fail the
      // heartbeat. Anything but a regular file planted there is skipped, with the reason.
      const recordFile = path.join(request.folder, `hbx-${request.host}.json`);
      const knowsSeq = request.recordSeq !== undefined;
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
        let text = `${JSON.stringify({ ...request.record, seq })}\n`;
        // Padded with blanks (valid JSON) to the size already there, so that it keeps its blocks.
        if (stat.size > text.length && stat.size <= 4096) text = `${text.slice(0, -1)}${" ".repeat(stat.size - text.length)}\n`;
        const written = fs.writeSync(fd, text, 0, "utf8");
        if (written !== Buffer.byteLength(text)) throw named(`short write: ${written} of ${Buffer.byteLength(text)} bytes`, "EIO");
        if (stat.size > written) fs.ftruncateSync(fd, written);
        reply.seq = seq;
      } catch (error) {
        const { code, message } = fail(error);
        reply.recordError =
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
            reply.recordError ??= `${fail(error).code || "error"}: ${fail(error).message}`;
          }
        }
      }
    }
    if (!slow && (request.sweep === true || (request.sweep === "after-create" && mode === "created"))) {
      try {
        const result = sweep(request.folder, [`.hb-${request.host}.`, `.hbx-${request.host}.`]);
        reply.swept = result.swept;
        reply.sweepSkipped = result.skipped;
      } catch (error) {
        reply.sweepError = fail(error).message;
      }
    }
    return reply;
  }

  if (request.op === "scan") {
    let names: string[];
    try {
      names = fs.readdirSync(request.folder);
    } catch (error) {
      return { ok: false, ...fail(error) };
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
        const { bytes, stat } = readRegular(path.join(request.folder, name), 4096, { head: true });
        entry.mtimeMs = stat.mtimeMs;
        entry.text = bytes.toString("latin1");
      } catch (error) {
        if (skip(name, error)) continue;
        entry.code = fail(error).code || "EIO";
      }
      const recordName = `hbx-${host}.json`;
      if (records.has(recordName)) {
        try {
          entry.record = readRegular(path.join(request.folder, recordName), 4096).bytes.toString("utf8");
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

  if (request.op === "activity") {
    let latest: number | null = null;
    const statErrorCodes: string[] = [];
    for (const volume of request.volumes) {
      try {
        // lstat: upstream's `stat -c %Y` does not follow a symbolic link either.
        const seconds = Math.floor(fs.lstatSync(volume).mtimeMs / 1000);
        if (latest === null || seconds > latest) latest = seconds;
      } catch (error) {
        // The caller tells a volume that does not exist (ENOENT) from one it could not look at (EIO).
        statErrorCodes.push(fail(error).code || "EIO");
      }
    }
    let previous: string | null = null;
    try {
      // Far more than `suspect:latest:time`; a planted FIFO, device or link is refused, never waited on.
      previous = readRegular(request.acFile, 4096).bytes.toString("latin1");
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") return { ok: false, ...fail(error) };
    }
    const reply: Record<string, unknown> = { ok: true, latest, statErrors: statErrorCodes.length, statErrorCodes, previous };
    const temporary = path.join(path.dirname(request.acFile), `.${path.basename(request.acFile)}.${unique()}`);
    try {
      // A new, unguessable name created exclusively ("wx": O_EXCL, so no link or FIFO is followed),
      // renamed over the ac file, which the check has just read as a regular file (or found absent).
      fs.writeFileSync(temporary, `${request.acPrefix}${latest ?? ""}${request.acSuffix}\n`, { flag: "wx" });
      fs.renameSync(temporary, request.acFile);
    } catch (error) {
      try {
        fs.unlinkSync(temporary);
      } catch {
        // Not created.
      }
      reply.writeError = `${fail(error).code || "error"}: ${fail(error).message}`;
      return reply;
    }
    // Leftovers of killed checks. Any neighbour may have written them, so their pid says nothing
    // here: age does, measured on the storage's own clock (the ac file just written).
    try {
      const folder = path.dirname(request.acFile);
      const serverNowMs = fs.lstatSync(request.acFile).mtimeMs;
      let swept = 0;
      for (const name of fs.readdirSync(folder)) {
        if (!/^\.ac-.+\.\d+\.[0-9a-f]+\.tmp$/.test(name)) continue;
        try {
          const leftover = path.join(folder, name);
          if (serverNowMs - fs.lstatSync(leftover).mtimeMs < STALE_AC_TEMPORARY_MS) continue;
          fs.unlinkSync(leftover);
          swept++;
        } catch {
          // Gone already: another neighbour's sweep got there first.
        }
      }
      reply.swept = swept;
    } catch (error) {
      reply.sweepError = fail(error).message;
    }
    return reply;
  }

  if (request.op === "qemu") {
    const processes: { pid: number; argv: string[] }[] = [];
    let names: string[];
    try {
      names = fs.readdirSync(request.procRoot);
    } catch (error) {
      return { ok: false, ...fail(error) };
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      try {
        // ARG_MAX is 2 MiB by default; a planted FIFO (a test's proc root, a bind mount) is skipped, never waited on.
        const argv = readRegular(path.join(request.procRoot, name, "cmdline"), 4 * 1024 * 1024).bytes.toString("utf8").split("\0");
        if (argv[argv.length - 1] === "") argv.pop();
        if (argv.length > 0 && path.basename(argv[0] ?? "").includes("qemu")) processes.push({ pid: Number(name), argv });
      } catch {
        // The process ended while we looked.
      }
    }
    return { ok: true, processes };
  }

  return { ok: false, code: "EBADREQUEST", message: `unknown worker operation ${JSON.stringify((request as { op?: unknown }).op)}` };
}

const WORKER_SOURCE = [
  '"use strict";',
  // What `ps` shows for a worker left in D state on a hung mount, instead of this whole source.
  'process.title = "hb-storage-worker";',
  'const fs = require("node:fs"), path = require("node:path");',
  "const alive = (pid) => { try { process.kill(pid, 0); return true; } catch (error) { return error.code === \"EPERM\"; } };",
  "let reply;",
  // The request comes on stdin (descriptor 0, a pipe from the parent), not from a path.
  `try { reply = (${storageWorker.toString()})(fs, path, JSON.parse(fs.readFileSync(0, "utf8")), process.pid, alive); }`,
  'catch (error) { reply = { ok: false, code: error.code || "EWORKER", message: String(error && error.message || error) }; }',
  "process.stdout.write(JSON.stringify(reply));",
].join("\n");

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

export async function runWorker<R>(request: WorkerRequest, options: StorageCallOptions): Promise<WorkerRun<R>> {
  const group = options.group ?? poolOf(request);
  const exec = await options.executor.run({
    file: options.nodePath ?? process.execPath,
    args: ["--no-warnings", "-e", WORKER_SOURCE],
    input: JSON.stringify(request),
    deadlineMs: options.deadlineMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(group === undefined ? {} : { group }),
  });
  if (exec.timedOut || exec.exitCode !== 0) return { reply: null, exec };
  try {
    return { reply: JSON.parse(exec.stdout) as R, exec };
  } catch {
    return { reply: null, exec };
  }
}

/** Why a worker run gave no reply, in words. */
export function describeNoReply(exec: ExecResult, deadlineMs: number, signal?: AbortSignal): string {
  if (exec.refused === "stuck-cap") return `not started, counted as a timeout: ${exec.stderr.replace(/^[^:]*: not started: /, "")}`;
  if (exec.spawnError !== undefined) return `the storage worker could not be started (${exec.spawnError})`;
  if (exec.timedOut && signal?.aborted) return `abandoned by the caller after ${Math.round(exec.durationMs)} ms (storage hung or too slow)`;
  if (exec.timedOut) return `no answer within ${deadlineMs} ms (storage hung or too slow)`;
  const detail = exec.stderr.trim().split("\n").at(-1) ?? "";
  return `storage worker exited with ${exec.exitCode ?? exec.signal ?? "?"}${detail === "" ? "" : `: ${detail}`}`;
}
