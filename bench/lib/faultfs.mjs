// A FUSE fault mount for benchmarks, served by the test kit's faultfs.py (Debian python3-fusepy).
// The tests use the typed helpers in tooling/testkit; benchmarks run as plain Node scripts.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const SCRIPT = fileURLToPath(new URL("../../tooling/testkit/faultfs.py", import.meta.url));

/** Why no FUSE mount can be made here, or null. */
export function fuseUnavailable() {
  if (process.getuid?.() !== 0) return "not root";
  if (!existsSync("/dev/fuse")) return "no /dev/fuse";
  if (spawnSync("/usr/bin/python3", ["-c", "import fusepy"]).status !== 0) return "no python3-fusepy";
  return null;
}

function connectionOf(mountPoint) {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields[4] === mountPoint) return fields[2]?.split(":")[1] ?? null;
  }
  return null;
}

/** Mount faultfs with the given folders; `hang()` blocks every write in the kernel. */
export async function mountFaultFs(folders) {
  const root = mkdtempSync(join(tmpdir(), "hb-bench-fuse-"));
  const backing = join(root, "backing");
  const mountPoint = join(root, "mnt");
  const control = join(root, "control.json");
  mkdirSync(mountPoint);
  for (const folder of folders) mkdirSync(join(backing, folder), { recursive: true });
  writeFileSync(control, "{}");
  const server = spawn("/usr/bin/python3", [SCRIPT, backing, mountPoint, control], { stdio: "ignore" });
  for (let i = 0; i < 500 && connectionOf(mountPoint) === null; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (connectionOf(mountPoint) === null) throw new Error("faultfs did not mount");
  return {
    mountPoint,
    hang: () => writeFileSync(control, JSON.stringify({ hang: true, ops: ["create", "write", "rename", "fsync", "open", "mkdir", "unlink"] })),
    unmount() {
      writeFileSync(control, "{}");
      const device = connectionOf(mountPoint);
      if (device !== null) {
        if (!existsSync("/sys/fs/fuse/connections/" + device)) spawnSync("mount", ["-t", "fusectl", "fusectl", "/sys/fs/fuse/connections"]);
        try {
          writeFileSync(`/sys/fs/fuse/connections/${device}/abort`, "1");
        } catch {
          // gone already
        }
        if (spawnSync("umount", [mountPoint]).status !== 0) spawnSync("umount", ["-l", mountPoint]);
      }
      server.kill("SIGKILL");
      rmSync(root, { recursive: true, force: true });
    },
  };
}
