import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { SystemClock, type Clock } from "@hb/core";

/**
 * A FUSE mount whose writes can be slowed or hung in the kernel, served by the repository's
 * fault filesystem (tooling/testkit/faultfs.py, Debian python3-fusepy). The demo's stall and the
 * benchmarks use it where FUSE is usable (root, /dev/fuse, fusepy); the tests use the typed
 * helpers of the test kit around the same script.
 */
export interface FaultMount {
  readonly mountPoint: string;
  /** `{}` lifts every fault; `{ hang: true, ops: [...] }` holds those operations in the kernel. */
  setFault(fault: { readonly delayMs?: number; readonly hang?: boolean; readonly ops?: readonly string[] }): void;
  /** Aborts the FUSE connection first, so a held writer cannot keep the unmount waiting. */
  unmount(): void;
}

const SCRIPT = fileURLToPath(new URL("../../../tooling/testkit/faultfs.py", import.meta.url));
const PYTHON = "/usr/bin/python3";

/** Why no fault mount can be made here, or null. */
export function faultMountUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "not root";
  if (!existsSync("/dev/fuse")) return "no /dev/fuse";
  if (!existsSync(SCRIPT)) return `no ${SCRIPT}`;
  if (spawnSync(PYTHON, ["-c", "import fusepy"], { stdio: "ignore", timeout: 10_000 }).status !== 0) return "no python3-fusepy";
  return null;
}

/** The FUSE connection of a mount, from mountinfo (a stat of a hung mount would hang too). */
function connectionOf(mountPoint: string): string | null {
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const fields = line.split(" ");
    if (fields[4] === mountPoint) return fields[2]?.split(":")[1] ?? null;
  }
  return null;
}

/**
 * Mount the fault filesystem over `backing` at `mountPoint` (both created). Direct file calls
 * here: every path is in the demo's own fresh temporary folder, or the kernel's (mountinfo,
 * fusectl), never one that comes from input.
 */
export async function mountFaultFs(backing: string, mountPoint: string, control: string, clock: Clock = new SystemClock()): Promise<FaultMount> {
  mkdirSync(backing, { recursive: true });
  mkdirSync(mountPoint, { recursive: true });
  writeFileSync(control, "{}");
  const server = spawn(PYTHON, [SCRIPT, backing, mountPoint, control], { stdio: "ignore" });
  for (let i = 0; i < 500 && connectionOf(mountPoint) === null; i++) await clock.sleep(10);
  if (connectionOf(mountPoint) === null) {
    server.kill("SIGKILL");
    throw new Error(`the fault filesystem did not mount at ${mountPoint}`);
  }
  return {
    mountPoint,
    setFault: (fault) => writeFileSync(control, JSON.stringify(fault)),
    unmount() {
      writeFileSync(control, "{}");
      const connection = connectionOf(mountPoint);
      if (connection !== null) {
        if (!existsSync(`/sys/fs/fuse/connections/${connection}`)) spawnSync("mount", ["-t", "fusectl", "fusectl", "/sys/fs/fuse/connections"], { timeout: 5_000 });
        try {
          writeFileSync(`/sys/fs/fuse/connections/${connection}/abort`, "1");
        } catch {
          // already gone with its mount
        }
        if (spawnSync("umount", [mountPoint], { timeout: 5_000 }).status !== 0) spawnSync("umount", ["-l", mountPoint], { timeout: 5_000 });
      }
      server.kill("SIGKILL");
    },
  };
}
