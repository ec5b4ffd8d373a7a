import { readFileSync } from "node:fs";

/** Sends a signal; false when there is no such process. */
export function signalProcess(pid: number, signal: "SIGTERM" | "SIGKILL"): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ESRCH") return false;
    throw error;
  }
}

/** Running, from /proc: a zombie has exited (its parent has not reaped it yet). */
export function isProcessRunning(pid: number): boolean {
  try {
    // procfs, not input: the pid is a number, and the kernel serves the file.
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    // The state follows the parenthesised command name, which may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** The uid hb runs as: besides root, the only owner a custom fence script may have. */
export function currentUid(): number {
  return process.getuid?.() ?? 0;
}
