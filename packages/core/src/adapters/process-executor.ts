import { spawn, type ChildProcess } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { ExecRequest, ExecResult, Executor } from "../ports.js";

export interface ProcessExecutorOptions {
  /**
   * Stuck children (killed at their deadline, not exited since) allowed per request group
   * before further requests of that group are refused at once. Default 2.
   */
  readonly maxStuckPerGroup?: number;
}

const DEFAULT_MAX_STUCK_PER_GROUP = 2;

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
 * Plain child_process rather than execa: the agent starts hb for every heartbeat, and loading
 * execa costs about 100 ms of that start-up, while its promise adds nothing once the deadline
 * race is ours.
 */
export class ProcessExecutor implements Executor {
  /** pid → the group of the request, for children killed at their deadline that have not exited since. */
  private readonly abandoned = new Map<number, string | undefined>();
  private readonly maxStuckPerGroup: number;

  constructor(options: ProcessExecutorOptions = {}) {
    this.maxStuckPerGroup = options.maxStuckPerGroup ?? DEFAULT_MAX_STUCK_PER_GROUP;
  }

  /** Children killed at their deadline that have not exited since. */
  get stuck(): number {
    return this.abandoned.size;
  }

  /** Stuck children of one group. */
  stuckIn(group: string): number {
    let count = 0;
    for (const owner of this.abandoned.values()) if (owner === group) count++;
    return count;
  }

  run(request: ExecRequest): Promise<ExecResult> {
    const started = performance.now();
    const { group } = request;
    if (group !== undefined) {
      const stuck = this.stuckIn(group);
      if (stuck >= this.maxStuckPerGroup) {
        return Promise.resolve({
          exitCode: null,
          signal: null,
          stdout: "",
          stderr: `${request.file}: not started: ${stuck} earlier children for ${group} are stuck after SIGKILL (cap ${this.maxStuckPerGroup}); counted as a timeout`,
          timedOut: true,
          durationMs: performance.now() - started,
          refused: "stuck-cap",
        });
      }
    }
    return new Promise<ExecResult>((resolve) => {
      let done = false;
      let stdout = "";
      let stderr = "";
      const abandoned = this.abandoned;
      const finish = (result: Omit<ExecResult, "durationMs">) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", abandon);
        resolve({ ...result, durationMs: performance.now() - started });
      };
      const failedToStart = (error: NodeJS.ErrnoException) => {
        const code = error.code ?? "UNKNOWN";
        finish({ exitCode: null, signal: null, stdout, stderr: `${request.file}: ${error.code ?? error.message}`, timedOut: false, spawnError: code });
      };
      let child: ChildProcess | undefined;
      function abandon() {
        if (done) return;
        if (child !== undefined) {
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
        finish({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true });
      }
      const deadline = setTimeout(abandon, request.deadlineMs);
      try {
        child = spawn(request.file, [...request.args], { shell: false, stdio: [request.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
      } catch (error) {
        // Some failures throw instead of emitting 'error' (bad arguments, errors libuv does not map).
        failedToStart(error as NodeJS.ErrnoException);
        return;
      }
      request.signal?.addEventListener("abort", abandon, { once: true });
      if (request.signal?.aborted) abandon();
      const spawned = child;
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => void (stdout += chunk));
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk));
      child.once("error", (error: NodeJS.ErrnoException) => {
        // No pid: the program never started (ENOENT, EACCES, or hb's own EMFILE, EAGAIN).
        if (spawned.pid === undefined) failedToStart(error);
        else finish({ exitCode: null, signal: null, stdout, stderr: `${request.file}: ${error.code ?? error.message}`, timedOut: false });
      });
      // "close", not "exit": the output pipes are drained by then.
      child.once("close", (code, signal) => finish({ exitCode: code, signal, stdout, stderr, timedOut: false }));
      if (request.input !== undefined) {
        child.stdin?.on("error", () => undefined); // a child that exits without reading its input
        child.stdin?.end(request.input);
      }
    });
  }
}
