import { execa } from "execa";
import { performance } from "node:perf_hooks";
import type { ExecRequest, ExecResult, Executor } from "../ports.js";

/**
 * Runs a program as a child process under a deadline of our own. A child blocked in the kernel
 * (hung NFS, DRBD suspend-io) may never die, and a promise that awaits its exit (execa's own
 * `timeout` does) hangs with it. So: race the child against a timer; at the deadline SIGKILL
 * it, let go of its pipes and handle, and return. Children that outlive a short grace after
 * the kill are counted as stuck.
 */
export class ProcessExecutor implements Executor {
  private readonly abandoned = new Set<number>();

  constructor(private readonly killGraceMs = 1000) {}

  /** Children killed at their deadline that have not exited since. */
  get stuck(): number {
    return this.abandoned.size;
  }

  run(request: ExecRequest): Promise<ExecResult> {
    const started = performance.now();
    const child = execa(request.file, [...request.args], {
      reject: false,
      stripFinalNewline: false,
      ...(request.input === undefined ? { stdin: "ignore" as const } : { input: request.input }),
      cleanup: true,
    });
    return new Promise<ExecResult>((resolve) => {
      let done = false;
      const finish = (result: ExecResult) => {
        if (done) return;
        done = true;
        clearTimeout(deadline);
        request.signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const abandon = () => {
        const pid = child.pid;
        child.kill("SIGKILL");
        child.stdout?.destroy();
        child.stderr?.destroy();
        child.unref();
        if (pid !== undefined) {
          this.abandoned.add(pid);
          const grace = setTimeout(() => undefined, this.killGraceMs);
          grace.unref();
          void child.then(() => this.abandoned.delete(pid), () => this.abandoned.delete(pid));
        }
        finish({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true, durationMs: performance.now() - started });
      };
      const deadline = setTimeout(abandon, request.deadlineMs);
      const onAbort = () => abandon();
      request.signal?.addEventListener("abort", onAbort, { once: true });
      if (request.signal?.aborted) abandon();
      void child.then((result) =>
        finish({
          exitCode: result.exitCode ?? null,
          signal: result.signal ?? null,
          stdout: String(result.stdout ?? ""),
          // A program that could not be started (ENOENT, EACCES) has no exit code: say why.
          stderr: result.exitCode === undefined && result.signal === undefined ? String(result.shortMessage ?? "") : String(result.stderr ?? ""),
          timedOut: false,
          durationMs: performance.now() - started,
        }),
      );
    });
  }
}
