// Real failing and hanging state folders: a read-only tmpfs (EROFS from the kernel) and a FUSE
// filesystem whose operations hang until released. Both need root; callers skip with the reason.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

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

const FAULTFS = fileURLToPath(new URL("./fixtures/faultfs.py", import.meta.url));

function mountedAt(path: string): string | undefined {
  // From mountinfo, never by stat()ing the mount (that would hang with it).
  const line = readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .find((entry) => entry.split(" ")[4] === path);
  return line?.split(" ")[2];
}

/** A FUSE folder whose mkdir/create/open/write/fsync block until release(). */
export async function hangingMount(base: string): Promise<TestMount | string> {
  if (process.getuid?.() !== 0) return "needs root for FUSE";
  if (!existsSync("/dev/fuse")) return "no /dev/fuse";
  if (spawnSync("/usr/bin/python3", ["-c", "import fusepy"]).status !== 0) return "no python3-fusepy (/usr/bin/python3 -c 'import fusepy' failed)";
  const backing = `${base}/backing`;
  const mnt = `${base}/mnt`;
  const ctl = `${base}/ctl.json`;
  await mkdir(backing, { recursive: true });
  await mkdir(mnt, { recursive: true });
  await writeFile(ctl, JSON.stringify({ hang: true, ops: ["mkdir", "create", "open", "write", "fsync"] }));
  const fs = spawn("/usr/bin/python3", [FAULTFS, backing, mnt, ctl], { detached: true, stdio: "ignore" });
  fs.unref();
  for (let i = 0; i < 100 && mountedAt(mnt) === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 50));
  const device = mountedAt(mnt);
  if (device === undefined) {
    if (fs.pid !== undefined) process.kill(fs.pid, "SIGKILL");
    return "faultfs did not mount within 5 s";
  }
  return {
    path: mnt,
    async release() {
      await writeFile(ctl, JSON.stringify({ hang: false }));
      // Abort the connection: every blocked request fails at once, nothing stays in D state.
      const minor = device.split(":")[1];
      const abort = `/sys/fs/fuse/connections/${minor}/abort`;
      let fusectl = false;
      if (!existsSync("/sys/fs/fuse/connections/" + minor)) fusectl = spawnSync("mount", ["-t", "fusectl", "fusectl", "/sys/fs/fuse/connections"]).status === 0;
      if (existsSync(abort)) await writeFile(abort, "1").catch(() => undefined);
      if (spawnSync("umount", [mnt]).status !== 0) spawnSync("umount", ["-l", mnt]);
      if (fusectl) spawnSync("umount", ["/sys/fs/fuse/connections"]);
      if (fs.pid !== undefined) {
        try {
          process.kill(fs.pid, "SIGKILL");
        } catch {
          // Already gone after the unmount.
        }
      }
    },
  };
}
