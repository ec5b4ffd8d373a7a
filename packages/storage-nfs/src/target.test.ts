import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { makeTempDir } from "@hb/testkit";
import { NfsHeartbeatTarget } from "./index.js";

const temp = await makeTempDir("hb-nfs-target-");
afterAll(() => temp.remove());

describe("NfsHeartbeatTarget with a mount table", () => {
  it("writes while the pool is an NFS mount, and fails without writing once the mount is gone", async () => {
    const pool = temp.file("pool");
    await mkdir(pool);
    const mounts = temp.file("mounts");
    await writeFile(mounts, `10.0.0.2:/export ${pool} nfs rw,relatime,vers=3 0 0\n`);
    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts });
    const attempt = () => target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal });
    expect(await attempt()).toMatchObject({ ok: true });
    expect(await readFile(`${pool}/KVMHA/hb-10.0.0.5`, "utf8")).toMatch(/^\d+\n$/);
    await rm(`${pool}/KVMHA/hb-10.0.0.5`);
    // The mount vanishes (the agent's umount, a lazy unmount): the folder is now local disk.
    await writeFile(mounts, "proc /proc proc rw 0 0\n");
    expect(await attempt()).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/is not an NFS mount .*local disk/) });
    await expect(access(`${pool}/KVMHA/hb-10.0.0.5`)).rejects.toThrow(); // nothing reached the local disk
    await writeFile(mounts, `10.0.0.2:/export ${pool}2 nfs rw 0 0\n`); // a neighbour path is not this pool
    expect(await attempt()).toMatchObject({ ok: false });
  });
});
