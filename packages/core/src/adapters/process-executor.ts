import { spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import type { ExecRequest, ExecResult, Executor } from "../ports.js";

/**
 * Runs a program as a child process under a deadline of our own: an argument array, never a
 * shell. A child blocked in the kernel (hung NFS, DRBD suspend-io) may never die, and a promise
 * that awaits its exit (execa's own `timeout` does) hangs with it. So: race the child against a
 * timer; at the deadline SIGKILL it, let go of its pipes and handle, and return. Children that
 * do not exit after the kill are counted as stuck.
 *
 * Plain child_process rather than execa: the agent starts hb for every heartbeat, and loading
 * execa costs about 100 ms of that start-up, while its promise adds nothing once the deadline
 * race is ours.
 */
export class ProcessExecutor implements Executor {
  private readonly abandoned = new Set<number>();

  /** Children killed at their deadline that have not exited since. */
  get stuck(): number {
    return this.abandoned.size;
  }

  run(request: ExecRequest): Promise<ExecResult> {
    const started = performance.now();
    return new Promise<ExecResult>((resolve) => {
      let done = false;
      let stdout = "";
      let stderr = "";
      const child = spawn(request.file, [...request.args], { shell: false, stdio: [request.input === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
      const finish = (result: Omit<ExecResult, "durationMs">) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", abandon);
        resolve({ ...result, durationMs: performance.now() - started });
      };
      function abandon() {
        if (done) return;
        const pid = child.pid;
        child.kill("SIGKILL");
        child.stdin?.destroy();
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.unref();
        if (pid !== undefined) {
          abandoned.add(pid);
          child.once("exit", () => abandoned.delete(pid));
        }
        finish({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true });
      }
      const abandoned = this.abandoned;
      const deadline = setTimeout(abandon, request.deadlineMs);
      request.signal?.addEventListener("abort", abandon, { once: true });
      if (request.signal?.aborted) abandon();
      child.stdout?.setEncoding("utf8").on("data", (chunk: string) => void (stdout += chunk));
      child.stderr?.setEncoding("utf8").on("data", (chunk: string) => void (stderr += chunk));
      // A program that could not be started (ENOENT, EACCES): no exit code, and why.
      child.once("error", (error: NodeJS.ErrnoException) =>
        finish({ exitCode: null, signal: null, stdout, stderr: `${request.file}: ${error.code ?? error.message}`, timedOut: false }),
      );
      // "close", not "exit": the output pipes are drained by then.
      child.once("close", (code, signal) => finish({ exitCode: code, signal, stdout, stderr, timedOut: false }));
      if (request.input !== undefined) {
        child.stdin?.on("error", () => undefined); // a child that exits without reading its input
        child.stdin?.end(request.input);
      }
    });
  }
}
