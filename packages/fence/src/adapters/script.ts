import { spawn, type ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";

export interface ScriptRequest {
  readonly file: string;
  readonly args: readonly string[];
  /** The whole environment of the script: nothing of hb's own is passed on. */
  readonly env: Readonly<Record<string, string>>;
  /** At the deadline the script's process group gets SIGKILL and the run is over. */
  readonly deadlineMs: number;
  /** Bytes kept per output stream; the rest is read and counted, never kept. */
  readonly maxOutputBytes: number;
}

export interface ScriptStream {
  readonly text: string;
  /** Every byte the stream carried, kept or not. */
  readonly bytes: number;
  readonly truncated: boolean;
}

export interface ScriptResult {
  /** null when killed by a signal, at the deadline, or never started. */
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** The errno code when the script could not be started (ENOENT, EACCES, ENOEXEC…). */
  readonly spawnError?: string;
  readonly durationMs: number;
  readonly stdout: ScriptStream;
  readonly stderr: ScriptStream;
}

/** Runs the custom fence script. The port exists so that tests of the action's wording need no process. */
export interface ScriptRunner {
  run(request: ScriptRequest): Promise<ScriptResult>;
}

// After the script exits, its output pipes may stay open in a child it left behind: what came
// until then is kept, the rest is not waited for.
const DRAIN_AFTER_EXIT_MS = 200;

/**
 * The real runner: the script in a process group of its own (so the deadline reaches whatever it
 * started), cwd `/`, stdin /dev/null, an argument array, never a shell. At the deadline the whole
 * group gets SIGKILL and the result is returned at once: a script blocked in the kernel may never
 * exit, and it is not awaited (docs/design.md rule 1). Output is read to the end, so a script
 * that floods it never blocks on a full pipe, and kept only up to the cap.
 */
export const processScriptRunner: ScriptRunner = {
  run(request) {
    const started = performance.now();
    return new Promise<ScriptResult>((resolve) => {
      const out = new Kept(request.maxOutputBytes);
      const err = new Kept(request.maxOutputBytes);
      let done = false;
      let child: ChildProcess | undefined;
      let drain: NodeJS.Timeout | undefined;
      const finish = (result: Pick<ScriptResult, "exitCode" | "signal" | "timedOut" | "spawnError">) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        clearTimeout(drain);
        child?.stdout?.destroy();
        child?.stderr?.destroy();
        child?.unref();
        resolve({ ...result, durationMs: performance.now() - started, stdout: out.stream(), stderr: err.stream() });
      };
      const deadline = setTimeout(() => {
        const pid = child?.pid;
        if (pid !== undefined) {
          try {
            process.kill(-pid, "SIGKILL");
          } catch {
            // The group is gone already: nothing left to stop.
          }
        }
        finish({ exitCode: null, signal: "SIGKILL", timedOut: true });
      }, request.deadlineMs);
      try {
        child = spawn(request.file, [...request.args], { shell: false, detached: true, cwd: "/", env: { ...request.env }, stdio: ["ignore", "pipe", "pipe"] });
      } catch (error) {
        finish({ exitCode: null, signal: null, timedOut: false, spawnError: (error as NodeJS.ErrnoException).code ?? "UNKNOWN" });
        return;
      }
      const spawned = child;
      spawned.stdout?.on("data", (chunk: Buffer) => out.add(chunk));
      spawned.stderr?.on("data", (chunk: Buffer) => err.add(chunk));
      spawned.once("error", (error: NodeJS.ErrnoException) => finish({ exitCode: null, signal: null, timedOut: false, spawnError: error.code ?? "UNKNOWN" }));
      spawned.once("exit", (code, signal) => {
        drain = setTimeout(() => finish({ exitCode: code, signal, timedOut: false }), DRAIN_AFTER_EXIT_MS);
      });
      spawned.once("close", (code, signal) => finish({ exitCode: code, signal, timedOut: false }));
    });
  },
};

/** One output stream: the first bytes up to a cap, and how many came in all. */
class Kept {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private total = 0;

  constructor(private readonly cap: number) {}

  add(chunk: Buffer): void {
    this.total += chunk.length;
    const room = this.cap - this.kept;
    if (room <= 0) return;
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(part);
    this.kept += part.length;
  }

  stream(): ScriptStream {
    return { text: Buffer.concat(this.chunks).toString("utf8"), bytes: this.total, truncated: this.total > this.kept };
  }
}
