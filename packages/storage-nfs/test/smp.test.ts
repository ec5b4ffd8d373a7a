// SharedMountPoint writes through real storage workers into a temp folder that a planted mount
// table (hb.mounts.file) calls a GFS2 mount.
import { spawnSync } from "node:child_process";
import { access, mkdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { makeTempDir } from "@hb/testkit";
import { SmpHeartbeatTarget, checkSmpHeartbeatWrite } from "../src/index.js";

const temp = await makeTempDir("hb-smp-");
afterAll(() => temp.remove());

async function pool(name: string): Promise<{ readonly path: string; readonly mounts: string }> {
  const path = temp.file(name);
  await mkdir(path);
  const mounts = temp.file(`${name}.mounts`);
  await writeFile(mounts, `/dev/sda1 / ext4 rw 0 0\n/dev/mapper/cluster ${path} gfs2 rw,noatime 0 0\n`);
  return { path, mounts };
}

const attemptOf = (target: SmpHeartbeatTarget) => target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal });

describe("SmpHeartbeatTarget", () => {
  it("creates the heartbeat once, then rewrites it in place (same inode, fixed size)", async () => {
    const { path, mounts } = await pool("in-place");
    const target = new SmpHeartbeatTarget({ id: "p", mountPoint: path, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts });
    expect(await attemptOf(target)).toMatchObject({ ok: true, evidence: { mode: "created" } });
    const first = await stat(`${path}/KVMHA/hb-10.0.0.5`);
    expect(await attemptOf(target)).toMatchObject({ ok: true, evidence: { mode: "in-place" } });
    const second = await stat(`${path}/KVMHA/hb-10.0.0.5`);
    expect(second.ino).toBe(first.ino);
    expect(await readFile(`${path}/KVMHA/hb-10.0.0.5`, "utf8")).toMatch(/^\d{10}\n$/);
  });

  it("fails without writing when the cluster filesystem is not mounted, or is a local one", async () => {
    const { path, mounts } = await pool("unmounted");
    const target = new SmpHeartbeatTarget({ id: "p", mountPoint: path, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts });
    await writeFile(mounts, "/dev/sda1 / ext4 rw 0 0\n");
    expect(await attemptOf(target)).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/not on a mounted filesystem .*not written$/) });
    await writeFile(mounts, `/dev/sdb1 ${path} xfs rw 0 0\n`);
    expect(await attemptOf(target)).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/local xfs filesystem/) });
    await expect(access(`${path}/KVMHA`)).rejects.toThrow();
  });

  it("keeps the st_dev rule: a KVMHA that leads off the pool's filesystem is not written", async () => {
    const { path, mounts } = await pool("off-pool");
    // /dev/shm is another filesystem than the temp folder.
    const elsewhere = `/dev/shm/hb-smp-${process.pid}`;
    await mkdir(elsewhere, { recursive: true });
    try {
      await symlink(elsewhere, `${path}/KVMHA`);
      const target = new SmpHeartbeatTarget({ id: "p", mountPoint: path, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts });
      expect(await attemptOf(target)).toMatchObject({ ok: false, reason: "error", evidence: { code: "EXDEV" } });
      await expect(access(`${elsewhere}/hb-10.0.0.5`)).rejects.toThrow();
    } finally {
      await rm(elsewhere, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0)("keeps the heartbeat on a full pool (root: a real tmpfs with no free block or inode)", async () => {
    const { path, mounts } = await pool("full");
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k,nr_inodes=32,mode=0755", "tmpfs", path], { encoding: "utf8" }).stderr).toBe("");
    try {
      const target = new SmpHeartbeatTarget({ id: "p", mountPoint: path, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts });
      expect(await attemptOf(target)).toMatchObject({ ok: true, evidence: { mode: "created" } });
      const fill = async (make: () => Promise<void>) => {
        for (;;) {
          try {
            await make();
          } catch (error) {
            expect(error).toMatchObject({ code: "ENOSPC" });
            return;
          }
        }
      };
      let files = 0;
      await fill(() => writeFile(`${path}/fill-${files++}`, ""));
      await fill(() => writeFile(`${path}/fill-0`, Buffer.alloc(4096, 1), { flag: "a" }));
      await expect(writeFile(`${path}/KVMHA/probe`, "x")).rejects.toMatchObject({ code: "ENOSPC" });
      expect(await attemptOf(target)).toMatchObject({ ok: true, evidence: { mode: "in-place" } });
    } finally {
      spawnSync("umount", [path], { stdio: "ignore" });
    }
  });
});

describe("checkSmpHeartbeatWrite (hb.fence.verify=storage)", () => {
  it("proves a write on the mounted pool, and refuses to count one on an unmounted one", async () => {
    const { path, mounts } = await pool("verify");
    const options = { executor: new ProcessExecutor(), clock: new SystemClock(), mountPoint: path, hostId: "10.0.0.5", mountsFile: mounts, deadlineMs: 10_000 };
    expect(await checkSmpHeartbeatWrite(options)).toMatchObject({ ok: true, detail: expect.stringContaining("NOT split-brain safe") });
    await writeFile(mounts, "/dev/sda1 / ext4 rw 0 0\n");
    expect(await checkSmpHeartbeatWrite(options)).toMatchObject({ ok: false, note: expect.stringMatching(/not on a mounted filesystem.*proves nothing/) });
    expect(await checkSmpHeartbeatWrite({ ...options, mountPoint: undefined })).toMatchObject({ ok: false, note: expect.stringContaining("no -m") });
  });
});
