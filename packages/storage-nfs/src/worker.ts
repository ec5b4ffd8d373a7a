import type * as NodeFs from "node:fs";
import type * as NodePath from "node:path";
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
  readonly content: string;
  /** Write `hbx-<host>.json` too; its `seq` is the previous record's plus one. */
  readonly record: RecordFields | null;
  /** Remove temporary files that killed attempts left behind. */
  readonly sweep: boolean;
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

/** Where a write stopped: the first failing step. */
export type WriteStep = "mkdir" | "create" | "write" | "fsync" | "close" | "rename" | "fsync-folder" | "readback";

export interface WriteReply {
  readonly ok: boolean;
  readonly step?: WriteStep;
  readonly code?: string;
  readonly message?: string;
  /** "verified": read back through O_DIRECT and equal; "unavailable": the fsync is the proof. */
  readonly readback?: "verified" | "unavailable";
  readonly seq?: number;
  readonly recordError?: string;
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

export interface ScanReply {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
  readonly entries?: readonly ScanReplyEntry[];
}

export interface ActivityReply {
  readonly ok: boolean;
  /** Newest mtime (epoch seconds) over the volumes that could be stat'ed; null when none. */
  readonly latest?: number | null;
  readonly statErrors?: number;
  /** The ac file before this check; null when it did not exist. */
  readonly previous?: string | null;
  readonly writeError?: string;
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
      fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
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

  const unique = () => `${pid}.${Math.floor(Math.random() * 0xffffffff).toString(16)}.tmp`;

  if (request.op === "write") {
    const steps: Record<string, number> = {};
    let step = "mkdir";
    const mark = (name: string) => {
      steps[step] = Math.round(performance.now() - started);
      step = name;
    };
    const target = path.join(request.folder, `hb-${request.host}`);
    const temporary = path.join(request.folder, `.hb-${request.host}.${unique()}`);
    let readback: "verified" | "unavailable";
    try {
      try {
        fs.mkdirSync(request.folder);
      } catch (error) {
        if ((error as { code?: string }).code !== "EEXIST") throw error;
      }
      mark("create");
      const fd = fs.openSync(temporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
      try {
        mark("write");
        fs.writeSync(fd, request.content);
        mark("fsync");
        fs.fsyncSync(fd);
        mark("close");
      } finally {
        fs.closeSync(fd);
      }
      mark("rename");
      fs.renameSync(temporary, target);
      mark("fsync-folder");
      const folderFd = fs.openSync(request.folder, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
      try {
        fs.fsyncSync(folderFd);
      } catch (error) {
        // Some filesystems cannot fsync a directory; the rename is then as durable as they make it.
        if ((error as { code?: string }).code !== "EINVAL") throw error;
      } finally {
        fs.closeSync(folderFd);
      }
      mark("readback");
      const seen = readDirect(target);
      if (seen !== null && seen !== request.content) {
        throw Object.assign(new Error(`read back ${JSON.stringify(seen)}, wrote ${JSON.stringify(request.content)}`), { code: "EMISMATCH" });
      }
      readback = seen === null ? "unavailable" : "verified";
      mark("done");
    } catch (error) {
      try {
        fs.unlinkSync(temporary);
      } catch {
        // Not created, or already renamed.
      }
      return { ok: false, step, ...fail(error), stepsMs: steps };
    }

    const reply: Record<string, unknown> = { ok: true, readback, stepsMs: steps };
    if (request.record !== null) {
      const recordFile = path.join(request.folder, `hbx-${request.host}.json`);
      const recordTemporary = path.join(request.folder, `.hbx-${request.host}.${unique()}`);
      try {
        let previous = 0;
        try {
          const old = JSON.parse(fs.readFileSync(recordFile, "utf8")) as { seq?: unknown };
          if (typeof old.seq === "number" && Number.isSafeInteger(old.seq)) previous = old.seq;
        } catch {
          // No record yet, or an unreadable one: the sequence starts again.
        }
        const seq = previous + 1;
        const fd = fs.openSync(recordTemporary, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o644);
        try {
          fs.writeSync(fd, `${JSON.stringify({ ...request.record, seq })}\n`);
          fs.fsyncSync(fd);
        } finally {
          fs.closeSync(fd);
        }
        fs.renameSync(recordTemporary, recordFile);
        reply.seq = seq;
      } catch (error) {
        try {
          fs.unlinkSync(recordTemporary);
        } catch {
          // Not created, or already renamed.
        }
        reply.recordError = `${fail(error).code || "error"}: ${fail(error).message}`;
      }
    }
    if (request.sweep) {
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
    const records = new Set(names.filter((name) => name.startsWith("hbx-") && name.endsWith(".json")));
    const buffer = Buffer.allocUnsafe(4096);
    const entries: Record<string, unknown>[] = [];
    for (const name of names) {
      if (!name.startsWith("hb-")) continue;
      const host = name.slice(3);
      const entry: Record<string, unknown> = { host };
      try {
        const fd = fs.openSync(path.join(request.folder, name), fs.constants.O_RDONLY);
        try {
          entry.mtimeMs = fs.fstatSync(fd).mtimeMs;
          const length = fs.readSync(fd, buffer, 0, buffer.length, 0);
          entry.text = buffer.subarray(0, length).toString("latin1");
        } finally {
          fs.closeSync(fd);
        }
      } catch (error) {
        entry.code = fail(error).code || "EIO";
      }
      const recordName = `hbx-${host}.json`;
      if (records.has(recordName)) {
        try {
          entry.record = fs.readFileSync(path.join(request.folder, recordName), "utf8");
        } catch {
          // A record is optional: without it the heartbeat alone decides.
        }
      }
      entries.push(entry);
    }
    return { ok: true, entries };
  }

  if (request.op === "activity") {
    let latest: number | null = null;
    let statErrors = 0;
    for (const volume of request.volumes) {
      try {
        // lstat: upstream's `stat -c %Y` does not follow a symbolic link either.
        const seconds = Math.floor(fs.lstatSync(volume).mtimeMs / 1000);
        if (latest === null || seconds > latest) latest = seconds;
      } catch {
        statErrors++;
      }
    }
    let previous: string | null = null;
    try {
      previous = fs.readFileSync(request.acFile, "latin1");
    } catch (error) {
      if ((error as { code?: string }).code !== "ENOENT") return { ok: false, ...fail(error) };
    }
    const reply: Record<string, unknown> = { ok: true, latest, statErrors, previous };
    const temporary = path.join(path.dirname(request.acFile), `.${path.basename(request.acFile)}.${unique()}`);
    try {
      fs.writeFileSync(temporary, `${request.acPrefix}${latest ?? ""}${request.acSuffix}\n`, { flag: "wx" });
      fs.renameSync(temporary, request.acFile);
    } catch (error) {
      try {
        fs.unlinkSync(temporary);
      } catch {
        // Not created.
      }
      reply.writeError = `${fail(error).code || "error"}: ${fail(error).message}`;
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
        const argv = fs.readFileSync(path.join(request.procRoot, name, "cmdline"), "utf8").split("\0");
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
}

export async function runWorker<R>(request: WorkerRequest, options: StorageCallOptions): Promise<WorkerRun<R>> {
  const exec = await options.executor.run({
    file: options.nodePath ?? process.execPath,
    args: ["--no-warnings", "-e", WORKER_SOURCE],
    input: JSON.stringify(request),
    deadlineMs: options.deadlineMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
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
  if (exec.timedOut && signal?.aborted) return `abandoned by the caller after ${Math.round(exec.durationMs)} ms (storage hung or too slow)`;
  if (exec.timedOut) return `no answer within ${deadlineMs} ms (storage hung or too slow)`;
  const detail = exec.stderr.trim().split("\n").at(-1) ?? "";
  return `storage worker exited with ${exec.exitCode ?? exec.signal ?? "?"}${detail === "" ? "" : `: ${detail}`}`;
}
