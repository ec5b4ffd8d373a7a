import { spawnSync } from "node:child_process";
import { mkdir, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { ProcessExecutor, type ExecRequest, type Executor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failedToCreate, writeHeartbeat } from "./index.js";

const NOW = 1_764_000_000;
const HOST = "10.0.0.5";

describe("writing a heartbeat", () => {
  let pool: TempDir;
  const executor = new ProcessExecutor();
  const write = (extra: Partial<Parameters<typeof writeHeartbeat>[0]> = {}) =>
    writeHeartbeat({ executor, mountPoint: pool.path, hostId: HOST, nowEpochSeconds: NOW, deadlineMs: 10_000, ...extra });

  beforeEach(async () => {
    pool = await makeTempDir();
  });
  afterEach(() => pool.remove());

  it("creates KVMHA and writes epoch seconds and a newline, verified by an O_DIRECT read-back", async () => {
    const result = await write();
    expect(result).toMatchObject({ ok: true, file: pool.file(`KVMHA/hb-${HOST}`), readback: "verified" });
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000000\n");
    expect(await readdir(pool.file("KVMHA"))).toEqual([`hb-${HOST}`]);
  });

  it("replaces the previous heartbeat by rename: the file is another inode, never truncated in place", async () => {
    await write({ nowEpochSeconds: NOW - 60 });
    const { ino: before } = await stat(pool.file(`KVMHA/hb-${HOST}`));
    await write();
    const { ino: after } = await stat(pool.file(`KVMHA/hb-${HOST}`));
    expect(after).not.toBe(before);
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000000\n");
  });

  it("keeps a sequence in the richer record that advances with every write, beside the heartbeat", async () => {
    expect(await write({ record: { bootId: "b1", state: "healthy" } })).toMatchObject({ ok: true, seq: 1 });
    expect(await write({ record: { bootId: "b1", state: "healthy" } })).toMatchObject({ ok: true, seq: 2 });
    expect(JSON.parse(await readFile(pool.file(`KVMHA/hbx-${HOST}.json`), "utf8"))).toEqual({ bootId: "b1", state: "healthy", seq: 2 });
    await writeFile(pool.file(`KVMHA/hbx-${HOST}.json`), "{torn");
    expect(await write({ record: { bootId: "b1" } })).toMatchObject({ ok: true, seq: 1 });
  });

  it("sweeps leftovers of killed attempts whose process is gone, and keeps those of live ones and of other hosts", async () => {
    await mkdir(pool.file("KVMHA"));
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
    const names = [`.hb-${HOST}.${gone}.1a2b.tmp`, `.hbx-${HOST}.${gone}.3c4d.tmp`, `.hb-${HOST}.${process.pid}.5e6f.tmp`, `.hb-10.0.0.6.${gone}.7a8b.tmp`];
    for (const name of names) await writeFile(pool.file(`KVMHA/${name}`), "1\n");
    expect(await write({ sweep: false })).toMatchObject({ ok: true, swept: 0 });
    expect(await write()).toMatchObject({ ok: true, swept: 2, sweepSkipped: 1 });
    expect((await readdir(pool.file("KVMHA"))).sort()).toEqual([`.hb-10.0.0.6.${gone}.7a8b.tmp`, `.hb-${HOST}.${process.pid}.5e6f.tmp`, `hb-${HOST}`].sort());
  });

  it("fails as 'cannot create' when the mount point does not exist, without creating it", async () => {
    const result = await write({ mountPoint: pool.file("absent") });
    expect(result).toMatchObject({ ok: false, failure: "mkdir", code: "ENOENT" });
    expect(failedToCreate(result)).toBe(true);
    await expect(readdir(pool.file("absent"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a host id that is not one path segment before starting any process", async () => {
    const spawned: ExecRequest[] = [];
    const recording: Executor = { run: (request) => (spawned.push(request), executor.run(request)) };
    await expect(write({ executor: recording, hostId: "../../etc/x" })).rejects.toMatchObject({ code: "INVALID_HOST_ID" });
    expect(spawned).toEqual([]);
  });

  it("runs the I/O in a node child with its request on stdin, never through a shell", async () => {
    const spawned: ExecRequest[] = [];
    const recording: Executor = { run: (request) => (spawned.push(request), executor.run(request)) };
    await write({ executor: recording, deadlineMs: 7_000 });
    expect(spawned).toHaveLength(1);
    expect(spawned[0]).toMatchObject({ file: process.execPath, deadlineMs: 7_000 });
    expect(spawned[0]?.args.slice(0, 2)).toEqual(["--no-warnings", "-e"]);
    expect(JSON.parse(spawned[0]?.input ?? "")).toMatchObject({ op: "write", host: HOST, content: "1764000000\n" });
  });
});
