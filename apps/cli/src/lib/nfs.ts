// NFS helpers shared by `hb nfs` and the kvmheartbeat.sh / kvmvmactivity.sh entry points.
import { killQemuProcessesUsingMount } from "@hb/storage-nfs";
import type { RunDeps } from "../context.js";

/** The agent's effective answer time for kvmvmactivity.sh is 3.6 s (3600 given as ms); hb answers by 3 s. */
export const ACTIVITY_ANSWER_MS = 3000;

/** Upstream's deleteVMs after a remount in write mode: SIGKILL every qemu using the mount. */
export async function stopQemuOnMount(mount: string, deadlineMs: number, deps: RunDeps): Promise<string> {
  try {
    const result = await killQemuProcessesUsingMount({ executor: deps.executor, mountPoint: mount, deadlineMs, kill: killProcess });
    return result.killed.length === 0 ? `no qemu process uses ${mount}` : `killed qemu processes using ${mount} after the remount: ${result.killed.join(" ")}`;
  } catch (error) {
    return `could not stop the qemu processes using ${mount}: ${(error as Error).message}`;
  }
}

function killProcess(pid: number): boolean {
  try {
    return process.kill(pid, "SIGKILL");
  } catch {
    return false;
  }
}
