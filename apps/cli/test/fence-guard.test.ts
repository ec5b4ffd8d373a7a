import { spawn } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb } from "./harness.js";

const temp = await makeTempDir("hb-guard-");
afterAll(() => temp.remove());

describe("the -c split-brain guard (hb.fence.kill.affected.vms)", () => {
  it("stops the qemu processes using the pool's mount before a non-fencing action, and spares the others", async () => {
    const mount = temp.file("mnt/4f1c2a6e");
    await mkdir(mount, { recursive: true });
    // Two stand-ins for qemu (an executable named qemu-system-x86_64): one with a disk on the
    // lost pool, one whose disk is on a pool whose path merely starts the same.
    const qemu = temp.file("qemu-system-x86_64");
    await symlink(process.execPath, qemu);
    const start = (disk: string) => spawn(qemu, ["-e", "setInterval(() => {}, 1e6)", "--", "-drive", `file=${disk},format=qcow2`], { stdio: "ignore" });
    const onPool = start(`${mount}/vol-1.qcow2`);
    const elsewhere = start(`${mount}0/vol-2.qcow2`);
    const exited = new Promise<string | null>((resolve) => onPool.once("exit", (_code, signal) => resolve(signal)));
    const properties = temp.file("agent.properties");
    await writeFile(properties, `hb.fence.kill.affected.vms=true\nhb.state.dir=${temp.file("state")}\nhb.fence.step.timeout=2000\n`);
    try {
      const result = await runHb(["fence", "--source", "kvmheartbeat.sh", "--target", mount, "--action", "log-only", "--file", properties]);
      expect(result.code).toBe(0);
      expect(await exited).toMatch(/SIGTERM|SIGKILL/);
      expect(elsewhere.exitCode).toBeNull();
      expect(elsewhere.signalCode).toBeNull();
    } finally {
      onPool.kill("SIGKILL");
      elsewhere.kill("SIGKILL");
    }
  });
});
