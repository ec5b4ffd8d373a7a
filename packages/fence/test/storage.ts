// Real failing and hanging state folders: a read-only tmpfs (EROFS from the kernel) and a FUSE
// filesystem whose operations hang until released. Both need root; callers skip with the reason.
import { spawnSync } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { faultFsUnavailableReason, mountFaultFs } from "@hb/testkit";

export interface TestMount {
  readonly path: string;
  release(): Promise<void>;
}

export async function readOnlyMount(at: string): Promise<TestMount | string> {
  if (process.getuid?.() !== 0) return "needs root to mount a read-only tmpfs";
  await mkdir(at, { recursive: true });
  const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", at], { encoding: "utf8" });
  if (mounted.status !== 0) return `mount -t tmpfs -o ro failed: ${mounted.stderr.trim()}`;
  return { path: at, release: async () => void spawnSync("umount", [at]) };
}

/** A FUSE folder (the test kit's fault filesystem) whose mkdir/create/open/write/fsync block until release(). */
export async function hangingMount(_base: string): Promise<TestMount | string> {
  const unavailable = faultFsUnavailableReason();
  if (unavailable !== null) return unavailable;
  const fault = await mountFaultFs({ fault: { hang: true, ops: ["mkdir", "create", "open", "write", "fsync"] } });
  return { path: fault.mountPoint, release: () => fault.unmount() };
}
