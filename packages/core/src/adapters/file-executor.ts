import { closeSync, constants as fsConstants, openSync, readSync } from "node:fs";
import { constants, tmpdir } from "node:os";
import type { ExecRequest, ExecResult, Executor } from "../ports.js";
import { monotonicMs } from "./system-clock.js";
import { byteCap, DEFAULT_MAX_OUTPUT_BYTES, refusalWhenStuck, withLastLine } from "./process-executor.js";

/** The part of Node's process_wrap handle this adapter uses (what lib/internal/child_process.js calls). */
interface ProcessHandle {
  pid?: number;
  onexit: (exitCode: number, signal: string) => void;
  spawn(...args: unknown[]): number;
  kill(signal: number): number;
  unref(): void;
  close(): void;
}

export interface FileExecutorOptions {
  /** Runs what this adapter does not: requests with input or keepAlive, and every request once the binding is missing or fails. */
  readonly fallback: () => Executor;
  /** As ProcessExecutor's: stuck children per request group before its requests are refused. Default 2. */
  readonly maxStuckPerGroup?: number;
}

// O_TMPFILE (with O_DIRECTORY) on Linux: a file with no name, which no other process can open.
const O_TMPFILE = 0o20200000;
const SIGKILL = 9;

/**
 * The binding takes its arguments in order on Node 24 (the line hb runs on, and the executable's).
 * Its form differs between lines, and a wrong call aborts the process in a native assertion, not
 * a throw, so any other line takes the fallback.
 */
const BINDING_FORM_KNOWN = process.versions.node.split(".")[0] === "24";

/**
 * A one-shot command's executor: the child is started through Node's process_wrap binding, the
 * handle child_process itself uses, without loading child_process and its streams (about 8 ms of
 * a start that the agent pays for every neighbour read). Its stdout and stderr go to two private
 * nameless files (O_TMPFILE in the temp folder, never on shared storage), read once it has exited.
 * The deadline is a timer: at it the child is SIGKILLed and let go of (a child blocked in the
 * kernel may never die), and the result is a timeout at once, as ProcessExecutor's.
 *
 * Output goes to files, not pipes, so it is bounded when read, not while written: only requests
 * marked `outputBounded` (commands whose output is small by construction, dd count=1) run here,
 * so that a program that floods its output cannot fill the temp folder. The cap is
 * {@link DEFAULT_MAX_OUTPUT_BYTES} or the request's; past it the result says `overflow`.
 *
 * Anything else goes to the fallback executor: a request not marked so, one with input or keepAlive, a Node without the binding
 * (it is undocumented; `--permission` refuses it), a temp folder without O_TMPFILE, or a binding
 * that throws.
 */
export class FileExecutor implements Executor {
  private readonly abandoned = new Map<ProcessHandle, string | undefined>();
  private readonly maxStuckPerGroup: number;
  private fallbackExecutor: Executor | undefined;
  private broken = false;

  constructor(private readonly options: FileExecutorOptions) {
    this.maxStuckPerGroup = options.maxStuckPerGroup ?? 2;
  }

  private fallback(): Executor {
    this.fallbackExecutor ??= this.options.fallback();
    return this.fallbackExecutor;
  }

  /** Kept children live in the fallback, which runs every keepAlive request. */
  release(key: string): void {
    this.fallbackExecutor?.release?.(key);
  }

  run(request: ExecRequest): Promise<ExecResult> {
    if (this.broken || !BINDING_FORM_KNOWN || request.outputBounded !== true || request.input !== undefined || request.keepAlive !== undefined) return this.fallback().run(request);
    const started = monotonicMs();
    const refused = refusalWhenStuck(this.abandoned, request, this.maxStuckPerGroup);
    if (refused !== undefined) return refused;
    const { group } = request;
    let handle: ProcessHandle;
    const fds: number[] = [];
    try {
      const { Process } = (process as unknown as { binding(name: string): { Process: new () => ProcessHandle } }).binding("process_wrap");
      const folder = tmpdir();
      fds.push(openSync(folder, O_TMPFILE | fsConstants.O_RDWR, 0o600), openSync(folder, O_TMPFILE | fsConstants.O_RDWR, 0o600));
      handle = new Process();
    } catch {
      for (const fd of fds) closeSync(fd);
      this.broken = true;
      return this.fallback().run(request);
    }
    const [out, err] = fds as [number, number];
    const cap = byteCap(request.maxOutputBytes) ?? DEFAULT_MAX_OUTPUT_BYTES;
    return new Promise<ExecResult>((resolve) => {
      let done = false;
      const finish = (result: Omit<ExecResult, "durationMs">) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", abandon);
        for (const fd of fds) closeSync(fd);
        resolve({ ...result, durationMs: monotonicMs() - started });
      };
      const abandoned = this.abandoned;
      function abandon() {
        if (done) return;
        handle.kill(SIGKILL);
        // Let go: hb answers and exits though the child may stay blocked in the kernel.
        handle.unref();
        abandoned.set(handle, group);
        finish({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true });
      }
      handle.onexit = (exitCode, signal) => {
        abandoned.delete(handle);
        handle.close();
        if (done) return;
        const stdout = readCapped(out, cap);
        const stderr = readCapped(err, cap);
        const overflow = stdout.over ? "stdout" : stderr.over ? "stderr" : undefined;
        if (overflow !== undefined) {
          finish({ exitCode: null, signal: "SIGKILL", stdout: stdout.text, stderr: withLastLine(stderr.text, `${request.file}: printed more than ${cap} bytes on ${overflow}`), timedOut: false, overflow });
          return;
        }
        finish({ exitCode: signal ? null : exitCode, signal: signal || null, stdout: stdout.text, stderr: stderr.text, timedOut: false });
      };
      const deadline = setTimeout(abandon, request.deadlineMs);
      const env = { ...process.env, ...request.env };
      const args = [request.file, ...request.args];
      const envPairs = Object.entries(env).flatMap(([key, value]) => (value === undefined ? [] : [`${key}=${value}`]));
      const stdio = [{ type: "ignore" }, { type: "fd", fd: out }, { type: "fd", fd: err }];
      const status = handle.spawn(request.file, args, undefined, envPairs, stdio, 0, undefined, undefined);
      if (status < 0) {
        // ENOENT, EACCES, or hb's own EMFILE, EAGAIN: as ProcessExecutor reports them.
        const code = errorName(status);
        handle.close();
        finish({ exitCode: null, signal: null, stdout: "", stderr: `${request.file}: ${code}`, timedOut: false, spawnError: code });
        return;
      }
      request.signal?.addEventListener("abort", abandon, { once: true });
      if (request.signal?.aborted) abandon();
    });
  }
}

/** The file's first bytes up to the cap, and whether there were more. */
function readCapped(fd: number, cap: number): { text: string; over: boolean } {
  const buffer = Buffer.allocUnsafe(Math.min(cap + 1, 64 * 1024));
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const read = readSync(fd, buffer, 0, Math.min(buffer.length, cap + 1 - total), total);
    if (read === 0) break;
    chunks.push(Buffer.from(buffer.subarray(0, read)));
    total += read;
    if (total > cap) break;
  }
  const bytes = Buffer.concat(chunks);
  return total > cap ? { text: bytes.subarray(0, cap).toString("utf8"), over: true } : { text: bytes.toString("utf8"), over: false };
}

/** ENOENT for -2: the name of a negative errno libuv returned. */
function errorName(status: number): string {
  for (const [name, value] of Object.entries(constants.errno)) if (value === -status) return name;
  return `E${-status}`;
}
