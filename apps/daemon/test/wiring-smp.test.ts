// hbd's target for a SharedMountPoint pool: the real write into a temp folder that a planted
// mount table (hb.mounts.file) calls a GFS2 mount.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { loadConfig } from "@hb/config";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { SmpHeartbeatTarget } from "@hb/storage-nfs";
import { makeTempDir } from "@hb/testkit";
import { parseDeclaredPools } from "../src/pools.js";
import { hbdFactories } from "../src/wiring.js";

const temp = await makeTempDir("hb-wiring-smp-");
afterAll(() => temp.remove());

describe("hbd and hb.pools=smp:PATH", () => {
  it("makes a SharedMountPoint target that writes while the cluster filesystem is mounted and fails once it is not", async () => {
    const pool = temp.file("gfs2");
    await mkdir(pool);
    const mounts = temp.file("mounts");
    await writeFile(mounts, `/dev/sda1 / ext4 rw 0 0\n/dev/mapper/cluster ${pool} gfs2 rw 0 0\n`);
    const properties = temp.file("agent.properties");
    await writeFile(properties, `hb.pools=smp:${pool}\nhb.mounts.file=${mounts}\n`);
    const { values: config } = await loadConfig(properties);
    const [spec] = parseDeclaredPools(config["hb.pools"]).pools;
    expect(spec).toEqual({ kind: "smp", id: "gfs2", mountPoint: pool, source: "declared" });
    const factories = hbdFactories({ executor: new ProcessExecutor(), clock: new SystemClock(), version: "test" });
    const target = factories.makeTarget(spec!, { config, hostId: "10.0.0.5" });
    expect(target).toBeInstanceOf(SmpHeartbeatTarget);
    const attempt = () => target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal });
    expect(await attempt()).toMatchObject({ ok: true });
    expect(await readFile(`${pool}/KVMHA/hb-10.0.0.5`, "utf8")).toMatch(/^\d{10}\n$/);
    await writeFile(mounts, "/dev/sda1 / ext4 rw 0 0\n");
    expect(await attempt()).toMatchObject({ ok: false, reason: "error", message: expect.stringContaining("not on a mounted filesystem") });
  });
});
