import type { Clock } from "@hb/core";
import { isProcessRunning, signalProcess } from "./adapters/processes.js";

/**
 * Discovery and signalling for the split-brain guard (`hb.fence.kill.affected.vms`). Discovery
 * belongs to the storage package of the target (e.g. qemu processes with disks on the lost NFS
 * mount); the fence only stops what it is given.
 */
export interface AffectedVms {
  /** Pids of the qemu processes whose disks are on the lost target. Bounded by the caller. */
  find(target: string, signal: AbortSignal): Promise<readonly number[]>;
  /** Defaults: process.kill, and /proc/PID/stat (a zombie counts as stopped). */
  signal?(pid: number, signal: "SIGTERM" | "SIGKILL"): boolean;
  isRunning?(pid: number): boolean;
}

export type VmStopOutcome = "not-running" | "terminated" | "killed" | "survived";

export interface VmStopResult {
  readonly pid: number;
  readonly outcome: VmStopOutcome;
}

const POLL_MS = 50;

/**
 * SIGTERM every pid, SIGKILL those still running after `graceMs`, and report each one. A qemu
 * blocked in the kernel on the dead storage survives even SIGKILL: reported as `survived`,
 * because it may write again when the storage returns.
 */
export async function stopProcesses(
  pids: readonly number[],
  options: { readonly clock: Clock; readonly graceMs: number; readonly signal?: AffectedVms["signal"]; readonly isRunning?: AffectedVms["isRunning"] },
): Promise<VmStopResult[]> {
  const send = options.signal ?? signalProcess;
  const running = options.isRunning ?? isProcessRunning;
  const outcome = new Map<number, VmStopOutcome>();
  const unique = [...new Set(pids)].filter((pid) => Number.isSafeInteger(pid) && pid > 1);

  for (const pid of unique) outcome.set(pid, send(pid, "SIGTERM") ? "terminated" : "not-running");
  let left = await waitForExit(unique.filter((pid) => outcome.get(pid) === "terminated"), options.clock, options.graceMs, running);
  for (const pid of left) {
    if (send(pid, "SIGKILL")) outcome.set(pid, "killed");
  }
  left = await waitForExit(left, options.clock, options.graceMs, running);
  for (const pid of left) outcome.set(pid, "survived");
  return unique.map((pid) => ({ pid, outcome: outcome.get(pid) ?? "not-running" }));
}

async function waitForExit(pids: readonly number[], clock: Clock, graceMs: number, running: (pid: number) => boolean): Promise<number[]> {
  const until = clock.monoMs() + graceMs;
  let left = pids.filter(running);
  while (left.length > 0 && clock.monoMs() < until) {
    await clock.sleep(Math.min(POLL_MS, Math.max(1, until - clock.monoMs())));
    left = left.filter(running);
  }
  return left;
}

export function describeStops(results: readonly VmStopResult[]): string {
  if (results.length === 0) return "no qemu process has disks on the lost storage";
  const words: Record<VmStopOutcome, string> = {
    "not-running": "was not running",
    terminated: "stopped on SIGTERM",
    killed: "killed with SIGKILL",
    survived: "still running after SIGKILL (blocked in the kernel?); it may write again when the storage returns",
  };
  return results.map((result) => `pid ${result.pid} ${words[result.outcome]}`).join("; ");
}
