import type { ChildProcess } from "node:child_process";
import type { Socket } from "node:net";
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
 * A request with `keepAlive` goes to a child kept for its key (see {@link KeptChild}): one line
 * in, one line out, under the same deadline, stuck-cap and output bounds.
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
  /** keepAlive key → its kept child; a child leaves the map when it ends, however it ends. */
  private readonly sessions = new Map<string, KeptChild>();

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

  /** Kept children alive now (keepAlive requests). */
  get kept(): number {
    return this.sessions.size;
  }

  run(request: ExecRequest): Promise<ExecResult> {
    const started = monotonicMs();
    const refused = refusalWhenStuck(this.abandoned, request, this.maxStuckPerGroup);
    if (refused !== undefined) return refused;
    const cap = byteCap(request.maxOutputBytes) ?? this.maxOutputBytes;
    if (request.keepAlive !== undefined) return this.runKept(request, request.keepAlive, cap, started);
    return this.runOnce(request, cap, started);
  }

  /** Ends the kept child of this key: its input is closed and it exits at the end of it (after its reply when busy). */
  release(key: string): void {
    this.sessions.get(key)?.release();
  }

  /** Ends every kept child, for shutdown. */
  releaseAll(): void {
    for (const session of [...this.sessions.values()]) session.release();
  }

  private runKept(request: ExecRequest, key: string, cap: number, started: number): Promise<ExecResult> {
    const line = request.input ?? "";
    if (line.includes("\n")) return Promise.resolve({ exitCode: null, signal: null, stdout: "", stderr: "keep-alive input must be one line", timedOut: false, durationMs: monotonicMs() - started });
    let session = this.sessions.get(key);
    // One request at a time per child, so that replies cannot be mixed up: another one meanwhile
    // gets a child of its own, which answers and exits at the end of its input.
    if (session?.busy === true) return this.runOnce({ ...request, input: `${line}\n` }, cap, started).then((result) => ({ ...result, stdout: result.stdout.split("\n", 1)[0] ?? "" }));
    const identity = identityOf(request);
    if (session !== undefined && session.identity !== identity) {
      session.release();
      session = undefined;
    }
    if (session === undefined) {
      const spawned = KeptChild.start(request, identity, this.maxOutputBytes, this.abandoned, (ended) => {
        if (this.sessions.get(key) === ended) this.sessions.delete(key);
      });
      if (!(spawned instanceof KeptChild)) return Promise.resolve(spawnFailure(request.file, spawned, started));
      session = spawned;
      this.sessions.set(key, session);
    }
    return session.ask(request, line, cap, started);
  }

  private runOnce(request: ExecRequest, cap: number, started: number): Promise<ExecResult> {
    const { group } = request;
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
      const failedToStart = (error: NodeJS.ErrnoException) => finish(spawnFailure(request.file, error, started));
      let child: ChildProcess | undefined;
      function kill() {
        if (child !== undefined) letGo(child, abandoned, group);
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
        finish({ exitCode: null, signal: "SIGKILL", stderr: withOverflowLine(stderr, request.file, cap, stream), timedOut: false, overflow: stream });
      }
      const deadline = setTimeout(abandon, request.deadlineMs);
      try {
        // Loaded at the first run, not with the module: a one-shot read through FileExecutor never needs it.
        child = spawnChild(request, request.input === undefined ? "ignore" : "pipe");
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

/** Starts the request's program with an argument array, never a shell. May throw (bad arguments, errors libuv does not map). */
function spawnChild(request: ExecRequest, stdin: "ignore" | "pipe"): ChildProcess {
  // Loaded at the first run, not with the module: a one-shot read through FileExecutor never needs it.
  return process.getBuiltinModule("node:child_process").spawn(request.file, [...request.args], {
    shell: false,
    stdio: [stdin, "pipe", "pipe"],
    ...(request.env === undefined ? {} : { env: { ...process.env, ...request.env } }),
  });
}

/** The result of a program that could not be started (ENOENT, EACCES, or hb's own EMFILE, EAGAIN). */
function spawnFailure(file: string, error: NodeJS.ErrnoException, started: number): ExecResult {
  return { exitCode: null, signal: null, stdout: "", stderr: `${file}: ${error.code ?? error.message}`, timedOut: false, spawnError: error.code ?? "UNKNOWN", durationMs: monotonicMs() - started };
}

/** SIGKILL the child and let go of it: it may be blocked in the kernel and never exit, and then counts as stuck in `group`. */
function letGo(child: ChildProcess, abandoned: Map<number, string | undefined>, group: string | undefined): void {
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

function withOverflowLine(stderr: string, file: string, cap: number, stream: "stdout" | "stderr"): string {
  return withLastLine(stderr, `${file}: killed: printed more than ${cap} bytes on ${stream}`);
}

/** stderr with one more line of hb's own at its end. */
export function withLastLine(stderr: string, line: string): string {
  return stderr === "" || stderr.endsWith("\n") ? `${stderr}${line}` : `${stderr}\n${line}`;
}

/** What makes a kept child fit a request: the same program, arguments and variables. */
function identityOf(request: ExecRequest): string {
  const env = request.env === undefined ? [] : Object.entries(request.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([request.file, request.args, env]);
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

/** The request a kept child is answering. */
interface Pending {
  readonly file: string;
  readonly cap: number;
  readonly started: number;
  /** The reply line so far. */
  readonly out: Output;
  /** Bytes on stderr since the request was sent, against the cap. */
  errBytes: number;
  readonly settle: (result: ExecResult) => void;
  /** Stops the request's deadline and abort listener. */
  readonly stop: () => void;
}

/**
 * One child kept for a keepAlive key (a storage worker for one pool): each request is one line
 * on its stdin, answered by the first line on its stdout. One request at a time. Whatever puts
 * it out of step (a deadline, an abort, output not asked for, a flood, its death) ends it, and
 * the key's next request starts a fresh child. While idle it holds no reference on the event
 * loop: a kept worker must never keep hb from exiting.
 */
class KeptChild {
  private pending: Pending | undefined;
  /** The group of the last request, under which the child counts as stuck if killed. */
  private group: string | undefined;
  private releasing = false;
  private ended = false;
  private killed = false;
  /** stderr since the last result, its last bytes only: also what the child printed while idle. */
  private readonly err: Tail;

  private constructor(
    private readonly child: ChildProcess,
    readonly identity: string,
    tailBytes: number,
    private readonly abandoned: Map<number, string | undefined>,
    private readonly onEnd: (session: KeptChild) => void,
  ) {
    this.err = new Tail(tailBytes);
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as Socket | null)?.unref();
    child.stdin?.on("error", () => undefined); // EPIPE from a child that died: its 'close' tells
    child.stdout?.on("data", (chunk: Buffer) => this.stdout(chunk));
    child.stderr?.on("data", (chunk: Buffer) => this.stderr(chunk));
    child.on("error", (error: NodeJS.ErrnoException) => this.failed(error));
    // A child that dies while idle must not be handed the next request.
    child.once("exit", () => this.end());
    // "close", not "exit": its last output is drained by then.
    child.once("close", (code, signal) => {
      this.end();
      this.finish({ exitCode: code, signal, stdout: this.pending?.out.text() ?? "", timedOut: false });
    });
  }

  /** The started child, or the error when it could not be started at once. */
  static start(request: ExecRequest, identity: string, tailBytes: number, abandoned: Map<number, string | undefined>, onEnd: (session: KeptChild) => void): KeptChild | NodeJS.ErrnoException {
    try {
      return new KeptChild(spawnChild(request, "pipe"), identity, tailBytes, abandoned, onEnd);
    } catch (error) {
      return error as NodeJS.ErrnoException;
    }
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  ask(request: ExecRequest, line: string, cap: number, started: number): Promise<ExecResult> {
    this.group = request.group;
    return new Promise<ExecResult>((settle) => {
      const abandon = () => {
        this.kill();
        this.finish({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true });
      };
      // The timer, unlike the child, keeps the process alive while a request is in flight.
      const deadline = setTimeout(abandon, request.deadlineMs);
      const stop = () => {
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", abandon);
      };
      this.pending = { file: request.file, cap, started, out: new Output(cap), errBytes: 0, settle, stop };
      request.signal?.addEventListener("abort", abandon, { once: true });
      if (request.signal?.aborted === true) abandon();
      else this.child.stdin?.write(`${line}\n`);
    });
  }

  /** Closes its input so that it exits; when busy, right after its reply. */
  release(): void {
    if (this.pending !== undefined) {
      this.releasing = true;
      return;
    }
    this.end();
    this.child.stdin?.end();
  }

  private stdout(chunk: Buffer): void {
    const pending = this.pending;
    if (pending === undefined) {
      this.kill(); // output nobody asked for: out of step
      return;
    }
    const newline = chunk.indexOf(0x0a);
    if (!pending.out.add(newline < 0 ? chunk : chunk.subarray(0, newline))) {
      this.overflowed("stdout");
      return;
    }
    if (newline < 0) return;
    // More than one line for one request: this reply stands, but the next would be out of step.
    if (newline < chunk.length - 1) this.kill();
    this.finish({ exitCode: 0, signal: null, stdout: pending.out.text(), timedOut: false });
  }

  private stderr(chunk: Buffer): void {
    this.err.add(chunk);
    const pending = this.pending;
    if (pending === undefined) return;
    pending.errBytes += chunk.length;
    if (pending.errBytes > pending.cap) this.overflowed("stderr");
  }

  private overflowed(stream: "stdout" | "stderr"): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.kill();
    const stdout = stream === "stdout" ? pending.out.text() : "";
    this.finish({ exitCode: null, signal: "SIGKILL", stdout, stderr: withOverflowLine(this.err.take(), pending.file, pending.cap, stream), timedOut: false, overflow: stream });
  }

  private failed(error: NodeJS.ErrnoException): void {
    const pending = this.pending;
    if (this.child.pid === undefined) {
      // Never started (ENOENT, EACCES, or hb's own EMFILE, EAGAIN).
      this.end();
      if (pending !== undefined) this.finish(spawnFailure(pending.file, error, pending.started));
      return;
    }
    this.kill();
    this.finish({ exitCode: null, signal: null, stdout: "", stderr: `${pending?.file ?? "kept child"}: ${error.code ?? error.message}`, timedOut: false });
  }

  /** Resolves the request in flight, if any; stderr defaults to what the child printed since the last result. */
  private finish(result: Omit<ExecResult, "durationMs" | "stderr"> & { stderr?: string }): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    pending.stop();
    pending.settle({ ...result, stderr: result.stderr ?? this.err.take(), durationMs: monotonicMs() - pending.started });
    if (this.releasing) this.release();
  }

  private kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.end();
    letGo(this.child, this.abandoned, this.group);
  }

  /** Leaves the executor's map: the key's next request starts a fresh child. */
  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
  }
}

/** The last bytes of a stream, up to a cap, since they were last taken. */
class Tail {
  private chunks: Buffer[] = [];
  private bytes = 0;

  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    while (this.bytes - (this.chunks[0]?.length ?? 0) >= this.cap) this.bytes -= this.chunks.shift()?.length ?? 0;
    if (this.bytes > this.cap && this.chunks[0] !== undefined) {
      this.chunks[0] = this.chunks[0].subarray(this.bytes - this.cap);
      this.bytes = this.cap;
    }
  }

  take(): string {
    const text = Buffer.concat(this.chunks).toString("utf8");
    this.chunks = [];
    this.bytes = 0;
    return text;
  }
}
