import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import type { Executor } from "@hb/core";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NfsHeartbeatTarget, writeHeartbeat } from "../src/index.js";
import { WORKERS } from "./workers.js";

const HOST = "10.0.0.5";
const NOW = 1_764_000_000;
const NOBODY = 65534;

const asRoot = process.getuid?.() === 0;
if (!asRoot) console.warn("SKIPPED: storage-nfs full-pool tests: they mount a tmpfs and switch uid (root)");

// Real pools the heartbeat must keep writing to: a tmpfs with no free block and no free inode,
// a KVMHA this host cannot create files in, and a KVMHA that leads off the mount.
describe.skipIf(!asRoot).each(WORKERS)("the heartbeat on a full or locked-down pool (root: real tmpfs, another uid), $name", ({ worker }) => {
  let dir: TempDir;
  let pool: string;
  const executor = new ProcessExecutor();
  const write = (extra: Partial<Parameters<typeof writeHeartbeat>[0]> = {}) =>
    writeHeartbeat({ executor, mountPoint: pool, hostId: HOST, nowEpochSeconds: NOW, deadlineMs: 10_000, ...worker, ...extra });
  const mountTmpfs = (where: string, options: string) => expect(spawnSync("mount", ["-t", "tmpfs", "-o", options, "tmpfs", where], { encoding: "utf8" }).stderr).toBe("");

  beforeEach(async () => {
    dir = await makeTempDir("hb-nfs-pool-");
    await chmod(dir.path, 0o755);
    pool = dir.file("pool");
    await mkdir(pool);
  });
  afterEach(async () => {
    for (const mount of [dir.file("pool"), dir.file("other")]) spawnSync("umount", [mount], { stdio: "ignore" });
    await dir.remove();
  });

  it("keeps writing the heartbeat (and its record) when the pool has no free block and no free inode", async () => {
    mountTmpfs(pool, "size=64k,nr_inodes=32,mode=0755");
    expect(await write({ nowEpochSeconds: NOW - 60, record: { bootId: "b1" } })).toMatchObject({ ok: true, mode: "created", seq: 1 });
    // Fill every inode, then every block.
    let files = 0;
    for (;;) {
      try {
        await writeFile(`${pool}/fill-${files}`, "");
        files++;
      } catch (error) {
        expect(error).toMatchObject({ code: "ENOSPC" });
        break;
      }
    }
    const filler = Buffer.alloc(4096, 1);
    for (;;) {
      try {
        await writeFile(`${pool}/fill-0`, filler, { flag: "a" });
      } catch (error) {
        expect(error).toMatchObject({ code: "ENOSPC" });
        break;
      }
    }
    await expect(writeFile(`${pool}/KVMHA/probe`, "x")).rejects.toMatchObject({ code: "ENOSPC" });
    const { ino } = await stat(`${pool}/KVMHA/hb-${HOST}`);

    for (const seconds of [NOW, NOW + 60]) {
      expect(await write({ nowEpochSeconds: seconds, record: { bootId: "b1" }, recordSeq: 2 })).toMatchObject({ ok: true, mode: "in-place", seq: 2 });
      expect(await readFile(`${pool}/KVMHA/hb-${HOST}`, "utf8")).toBe(`${seconds}\n`);
    }
    expect((await stat(`${pool}/KVMHA/hb-${HOST}`)).ino).toBe(ino);
    expect((await readdir(`${pool}/KVMHA`)).sort()).toEqual([`hb-${HOST}`, `hbx-${HOST}.json`]);

    // As hbd's target does it, attempt after attempt.
    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: HOST, executor, clock: new SystemClock(), record: { bootId: "b1" }, ...worker });
    for (let seq = 1; seq <= 3; seq++) expect(await target.attempt({ seq, deadlineMs: 10_000, signal: new AbortController().signal })).toMatchObject({ ok: true });
  });

  it("keeps writing when KVMHA is not writable for this host but hb-<host> is (as upstream's in-place write does)", async () => {
    await mkdir(`${pool}/KVMHA`, { mode: 0o755 });
    await writeFile(`${pool}/KVMHA/hb-${HOST}`, `${NOW - 60}\n`);
    await chown(`${pool}/KVMHA/hb-${HOST}`, NOBODY, NOBODY);
    // The worker runs as uid 65534: it may write the file, not create one beside it.
    const inner = new ProcessExecutor();
    const asNobody: Executor = { run: (request) => inner.run({ ...request, file: "setpriv", args: [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", request.file, ...request.args] }) };
    const probe = spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", "touch", `${pool}/KVMHA/probe`], { encoding: "utf8" });
    expect(probe.stderr).toMatch(/Permission denied/);

    expect(await write({ executor: asNobody })).toMatchObject({ ok: true, mode: "in-place" });
    expect(await readFile(`${pool}/KVMHA/hb-${HOST}`, "utf8")).toBe(`${NOW}\n`);
  });

  it("fails, naming it, when KVMHA is a symbolic link off the mount onto another filesystem", async () => {
    mountTmpfs(pool, "size=1m,mode=0755");
    const other = dir.file("other");
    await mkdir(other);
    mountTmpfs(other, "size=1m,mode=0755");
    await symlink(other, `${pool}/KVMHA`);

    // First write (no file yet) and in-place rewrite (a file there) alike.
    const first = await write();
    expect(first).toMatchObject({ ok: false, failure: "create", code: "EXDEV", message: expect.stringContaining(`${pool}/KVMHA is a symbolic link to ${other}, off the mount point ${pool}`) });
    expect(await readdir(other)).toEqual([]);
    await writeFile(`${other}/hb-${HOST}`, `${NOW - 60}\n`);
    const again = await write();
    expect(again).toMatchObject({ ok: false, failure: "check", code: "EXDEV", message: expect.stringContaining(`${pool}/KVMHA is a symbolic link to ${other}`) });
    expect(await readFile(`${other}/hb-${HOST}`, "utf8")).toBe(`${NOW - 60}\n`);

    // A link that stays on the pool's own filesystem is the pool.
    await rm(`${pool}/KVMHA`);
    await mkdir(`${pool}/real`);
    await symlink(`${pool}/real`, `${pool}/KVMHA`);
    expect(await write()).toMatchObject({ ok: true });
    expect(await readFile(`${pool}/real/hb-${HOST}`, "utf8")).toBe(`${NOW}\n`);
  });
});
