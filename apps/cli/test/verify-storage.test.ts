// `hb compat kvmheartbeat … -c` on NFS: no veto with drbd-quorum; with hb.fence.verify=storage one
// more bounded heartbeat write, on a real FUSE mount that works, hangs in the kernel or fails.
import { readFile, writeFile } from "node:fs/promises";
import { type FaultFs, faultFsUnavailableReason, fenceHost, type FenceHost, freePort, mountFaultFs, roomyFenceHost } from "@hb/testkit";
import { describe, expect, it, type TestContext } from "vitest";
import { runCompat } from "./agent-run.js";
import { runHb } from "./harness.js";

const REBOOT = ["logger -t heartbeat -- kvmheartbeat.sh will reboot system because it was unable to write the heartbeat to the storage.", "s", "sync", "b"];

interface Pool {
  readonly host: FenceHost;
  readonly fs: FaultFs;
}

/** A FUSE pool listed as an NFS mount in the test's mount table (hb.mounts.file), and the fence fakes. */
async function pool(context: TestContext, lines: readonly string[], listed = true): Promise<Pool> {
  const host = await roomyFenceHost();
  const fs = await mountFaultFs();
  context.onTestFinished(async () => {
    await fs.unmount();
    await host.temp.remove();
  });
  const mounts = host.temp.file("mounts");
  await writeFile(mounts, listed ? `10.0.0.1:/export/primary ${fs.mountPoint} nfs rw,relatime,vers=3 0 0\n` : "/dev/sda1 / ext4 rw 0 0\n");
  await host.writeProperties([`hb.mounts.file=${mounts}`, `hb.status.listen=127.0.0.1:${await freePort()}`, ...lines]);
  return { host, fs };
}

const runScript = (host: FenceHost, mountPoint: string) => runCompat(host, ["kvmheartbeat", "-i", "10.0.0.1", "-p", "/export/primary", "-m", mountPoint, "-c"]);

const heartbeatFile = (fs: FaultFs, host: string) => readFile(`${fs.backingDir}/KVMHA/hb-${host}`, "utf8").catch(() => null);

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`SKIPPED hb.fence.verify=storage on FUSE: ${unavailable}`);

describe.skipIf(unavailable !== null)("hb compat kvmheartbeat -c on a FUSE pool", () => {
  it("with drbd-quorum (the default): no veto on NFS, and nothing written to the pool", async (context) => {
    const { host, fs } = await pool(context, ["hb.host.ip=10.0.0.5"]);
    expect(await runScript(host, fs.mountPoint)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await host.eventNames()).toEqual(REBOOT);
    expect(await heartbeatFile(fs, "10.0.0.5")).toBeNull();
  });

  it("with storage: one more write that succeeds vetoes, and says it is not split-brain safe", async (context) => {
    const { host, fs } = await pool(context, ["hb.fence.verify=storage", "hb.host.ip=10.0.0.5"]);
    expect(await runScript(host, fs.mountPoint)).toEqual({ code: 0, stdout: "", stderr: "" });
    const events = await host.eventNames();
    expect(events).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- kvmheartbeat\.sh -c: not fencing \(hard-reboot\), vetoed by hb\.fence\.verify=storage: one more heartbeat write to /)]);
    expect(events[0]).toContain("NOT split-brain safe");
    expect(await heartbeatFile(fs, "10.0.0.5")).toMatch(/^\d{10}\n$/);
    expect(await host.records()).toEqual([expect.objectContaining({ kind: "veto", check: "storage", target: fs.mountPoint, evidence: expect.objectContaining({ write: expect.objectContaining({ file: `${fs.mountPoint}/KVMHA/hb-10.0.0.5` }) }) })]);
  });

  it("with storage: takes the host id from private.network.device when hb.host.ip is not set", async (context) => {
    const { host, fs } = await pool(context, ["hb.fence.verify=storage", "private.network.device=lo"]);
    expect((await runScript(host, fs.mountPoint)).code).toBe(0);
    expect(await heartbeatFile(fs, "127.0.0.1")).toMatch(/^\d{10}\n$/);
  });

  it("with storage: a write that hangs in the kernel past the verify deadline fences", async (context) => {
    const { host, fs } = await pool(context, ["hb.fence.verify=storage", "hb.host.ip=10.0.0.5", "hb.fence.verify.timeout=1200"]);
    await fs.setFault({ hang: true });
    expect(await runScript(host, fs.mountPoint)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await host.eventNames()).toEqual(REBOOT);
    expect((await host.records())[0]?.reason).toMatch(/one more heartbeat write to .*hb-10\.0\.0\.5 failed: .*\d{3,4} ms/);
    expect(fs.held()).toBeGreaterThan(0);
  });

  it("with storage: a write that fails (EIO) fences", async (context) => {
    const { host, fs } = await pool(context, ["hb.fence.verify=storage", "hb.host.ip=10.0.0.5"]);
    await fs.setFault({ errno: 5 });
    expect((await runScript(host, fs.mountPoint)).code).toBe(0);
    expect(await host.eventNames()).toEqual(REBOOT);
    expect((await host.records())[0]?.reason).toMatch(/one more heartbeat write to .* failed: .*EIO|I\/O error/);
  });

  it("with storage: a pool that is not an NFS mount is not written to (the write would land on the local disk) and fences", async (context) => {
    const { host, fs } = await pool(context, ["hb.fence.verify=storage", "hb.host.ip=10.0.0.5"], false);
    expect((await runScript(host, fs.mountPoint)).code).toBe(0);
    expect(await host.eventNames()).toEqual(REBOOT);
    expect((await host.records())[0]?.reason).toContain(`${fs.mountPoint} is not an NFS mount in`);
    expect(await heartbeatFile(fs, "10.0.0.5")).toBeNull();
  });
});

describe("hb timing explain with hb.fence.verify=storage", () => {
  it("warns that it trades split-brain protection for uptime, and gives -c's deadline", async () => {
    const host = await fenceHost();
    try {
      await host.writeProperties(["hb.fence.verify=storage"]);
      const { code, stdout } = await runHb(["timing", "explain", "--file", host.properties]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/WARNING fence-verify-storage: hb\.fence\.verify=storage: on NFS, -c does not fence when one more heartbeat write succeeds/);
      expect(stdout).toMatch(/-c verifies \(hb\.fence\.verify=storage\) for at most 57\.9 s/);
      await host.writeProperties([]);
      expect((await runHb(["timing", "explain", "--file", host.properties])).stdout).not.toMatch(/fence-verify-storage/);
    } finally {
      await host.temp.remove();
    }
  });
});
