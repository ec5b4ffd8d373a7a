import type { ChildProcess } from "node:child_process";
import type { ExecRequest, ExecResult, Executor } from "../ports.js";
import { monotonicMs } from "./system-clock.js";

export interface ProcessExecutorOptions {
  /**
   * Stuck children (killed at their deadline, not exited since) allowed per request group
   * before further requests of that group are refused at once. Default 2.
   */
  readonly maxStuckPerGroup?: number;
  /** Bytes kept per output stream of a request that sets no `maxOutputBytes`. Default {@link DEFAULT_MAX_OUTPUT_BYTES}. */
  readonly maxOutputBytes?: number;
}

const DEFAULT_MAX_STUCK_PER_GROUP = 2;

/**
 * 16 MiB per stream: far above what drbdsetup prints for hundreds of resources, far below what
 * a string may hold. A child that prints without end (a broken or hostile program on PATH) would
 * otherwise grow hb's memory until V8 throws an uncaught RangeError ("Invalid string length").
 */
export const DEFAULT_MAX_OUTPUT_BYTES = 16 * 1024 * 1024;

/**
 * Runs a program as a child process under a deadline of our own: an argument array, never a
 * shell. A child blocked in the kernel (hung NFS, DRBD suspend-io) may never die, and a promise
 * that awaits its exit (execa's own `timeout` does) hangs with it. So: race the child against a
 * timer; at the deadline SIGKILL it, let go of its pipes and handle, and return. Children that
 * do not exit after the kill are counted as stuck, and a hung pool holds at most
 * `maxStuckPerGroup` of them: past that, its requests fail at once as the timeouts they would be.
 *
 * A program that cannot be started (ENOENT, or hb's own EMFILE, EAGAIN…) comes back as a result
 * with `spawnError`, never as a throw or a rejection, whether spawn threw or emitted 'error'.
 *
 * Output is bounded: past `maxOutputBytes` on one stream the child is SIGKILLed and let go like
 * a timed-out one, and the result says `overflow` with a last stderr line naming the program.
 *
 * Plain child_process rather than execa: the agent starts hb for every heartbeat, and loading
 * execa costs about 100 ms of that start-up, while its promise adds nothing once the deadline
 * race is ours.
 */
export class ProcessExecutor implements Executor {
  /** pid → the group of the request, for children killed at their deadline that have not exited since. */
  private readonly abandoned = new Map<number, string | undefined>();
  private readonly maxStuckPerGroup: number;
  private readonly maxOutputBytes: number;

  constructor(options: ProcessExecutorOptions = {}) {
    this.maxStuckPerGroup = options.maxStuckPerGroup ?? DEFAULT_MAX_STUCK_PER_GROUP;
    this.maxOutputBytes = byteCap(options.maxOutputBytes) ?? DEFAULT_MAX_OUTPUT_BYTES;
  }

  /** Children killed at their deadline that have not exited since. */
  get stuck(): number {
    return this.abandoned.size;
  }

  /** Stuck children of one group. */
  stuckIn(group: string): number {
    return stuckIn(this.abandoned, group);
  }

  run(request: ExecRequest): Promise<ExecResult> {
    const started = monotonicMs();
    const refused = refusalWhenStuck(this.abandoned, request, this.maxStuckPerGroup);
    if (refused !== undefined) return refused;
    const { group } = request;
    const cap = byteCap(request.maxOutputBytes) ?? this.maxOutputBytes;
    return new Promise<ExecResult>((resolve) => {
      let done = false;
      const out = new Output(cap);
      const err = new Output(cap);
      const abandoned = this.abandoned;
      const finish = (result: Omit<ExecResult, "durationMs" | "stdout" | "stderr"> & { stdout?: string; stderr?: string }) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", abandon);
        resolve({ ...result, stdout: result.stdout ?? out.text(), stderr: result.stderr ?? err.text(), durationMs: monotonicMs() - started });
      };
      const failedToStart = (error: NodeJS.ErrnoException) => {
        const code = error.code ?? "UNKNOWN";
        finish({ exitCode: null, signal: null, stderr: `${request.file}: ${error.code ?? error.message}`, timedOut: false, spawnError: code });
      };
      let child: ChildProcess | undefined;
      /** SIGKILL the child and let go of it: it may be blocked in the kernel and never exit. */
      function kill() {
        if (child === undefined) return;
        const pid = child.pid;
        child.kill("SIGKILL");
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.unref();
        if (pid !== undefined && child.exitCode === null && child.signalCode === null) {
          abandoned.set(pid, group);
          child.once("exit", () => abandoned.delete(pid));
        }
      }
      function abandon() {
        if (done) return;
        kill();
        finish({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true });
      }
      function overflowed(stream: "stdout" | "stderr") {
        if (done) return;
        kill();
        const stderr = err.text();
        const why = `${request.file}: killed: printed more than ${cap} bytes on ${stream}`;
        finish({ exitCode: null, signal: "SIGKILL", stderr: stderr === "" || stderr.endsWith("\n") ? `${stderr}${why}` : `${stderr}\n${why}`, timedOut: false, overflow: stream });
      }
      const deadline = setTimeout(abandon, request.deadlineMs);
      try {
        // Loaded at the first run, not with the module: a one-shot read through FileExecutor never needs it.
        child = process.getBuiltinModule("node:child_process").spawn(request.file, [...request.args], {
          shell: false,
          stdio: [request.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
          ...(request.env === undefined ? {} : { env: { ...process.env, ...request.env } }),
        });
      } catch (error) {
        // Some failures throw instead of emitting 'error' (bad arguments, errors libuv does not map).
        failedToStart(error as NodeJS.ErrnoException);
        return;
      }
      request.signal?.addEventListener("abort", abandon, { once: true });
      if (request.signal?.aborted) abandon();
      const spawned = child;
      child.stdout?.on("data", (chunk: Buffer) => void (out.add(chunk) || overflowed("stdout")));
      child.stderr?.on("data", (chunk: Buffer) => void (err.add(chunk) || overflowed("stderr")));
      child.once("error", (error: NodeJS.ErrnoException) => {
        // No pid: the program never started (ENOENT, EACCES, or hb's own EMFILE, EAGAIN).
        if (spawned.pid === undefined) failedToStart(error);
        else finish({ exitCode: null, signal: null, stderr: `${request.file}: ${error.code ?? error.message}`, timedOut: false });
      });
      // "close", not "exit": the output pipes are drained by then.
      child.once("close", (code, signal) => finish({ exitCode: code, signal, timedOut: false }));
      if (request.input !== undefined) {
        child.stdin?.on("error", () => undefined); // a child that exits without reading its input
        child.stdin?.end(request.input);
      }
    });
  }
}

/** Children let go of at their deadline and not exited since (a map of child → its request's group), in `group`. */
function stuckIn(abandoned: ReadonlyMap<unknown, string | undefined>, group: string): number {
  let count = 0;
  for (const owner of abandoned.values()) if (owner === group) count++;
  return count;
}

/**
 * The answer to a request whose group already holds `cap` stuck children: the timeout it would
 * be, at once, without starting anything. Undefined when the request may run.
 */
export function refusalWhenStuck(abandoned: ReadonlyMap<unknown, string | undefined>, request: ExecRequest, cap: number): Promise<ExecResult> | undefined {
  const { group } = request;
  if (group === undefined) return undefined;
  const stuck = stuckIn(abandoned, group);
  if (stuck < cap) return undefined;
  return Promise.resolve({
    exitCode: null,
    signal: null,
    stdout: "",
    stderr: `${request.file}: not started: ${stuck} earlier children for ${group} are stuck after SIGKILL (cap ${cap}); counted as a timeout`,
    timedOut: true,
    durationMs: 0,
    refused: "stuck-cap",
  });
}

/** A usable cap, or undefined: NaN, 0 or a fraction must not turn the bound off or make it meaningless. */
export function byteCap(value: number | undefined): number | undefined {
  return value !== undefined && Number.isSafeInteger(value) && value > 0 ? value : undefined;
}

/** One output stream, kept as bytes up to a cap and decoded once (a character may span chunks). */
class Output {
  private readonly chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly cap: number) {}

  /** Keeps the chunk, up to the cap; false when the stream went past it. */
  add(chunk: Buffer): boolean {
    const room = this.cap - this.bytes;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.bytes = this.cap;
      return false;
    }
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    return true;
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}
