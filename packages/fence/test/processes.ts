import { spawn, type ChildProcess } from "node:child_process";

/** Stand-ins for qemu: one that stops on SIGTERM, one that ignores it and needs SIGKILL. */
export function startVm(kind: "polite" | "stubborn"): ChildProcess {
  const code = kind === "polite" ? "setInterval(() => {}, 1e6)" : "process.on('SIGTERM', () => {}); setInterval(() => {}, 1e6)";
  return spawn(process.execPath, ["-e", code], { stdio: "ignore" });
}

/** Waits until the child runs its code (a SIGTERM handler installed before the test signals it). */
export async function started(child: ChildProcess): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 300));
  if (child.pid === undefined) throw new Error("child did not start");
  return child.pid;
}

export function exited(child: ChildProcess): Promise<string | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
}
