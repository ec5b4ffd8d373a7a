import { spawnSync } from "node:child_process";
import { access, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from "node:fs/promises";
import { ProcessExecutor, type ExecRequest, type Executor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failedToCreate, parseRecord, writeHeartbeat } from "../src/index.js";
import { NATIVE_WORKER, WORKERS } from "./workers.js";

const NOW = 1_764_000_000;
const HOST = "10.0.0.5";

describe.each(WORKERS)("writing a heartbeat with $name", ({ worker }) => {
  let pool: TempDir;
  const executor = new ProcessExecutor();
  const write = (extra: Partial<Parameters<typeof writeHeartbeat>[0]> = {}) =>
    writeHeartbeat({ executor, mountPoint: pool.path, hostId: HOST, nowEpochSeconds: NOW, deadlineMs: 10_000, ...worker, ...extra });

  beforeEach(async () => {
    pool = await makeTempDir();
  });
  afterEach(() => pool.remove());

  it("creates KVMHA and writes the first heartbeat, epoch seconds and a newline, by temporary file and rename", async () => {
    const result = await write();
    expect(result).toMatchObject({ ok: true, file: pool.file(`KVMHA/hb-${HOST}`), mode: "created", readback: "skipped" });
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000000\n");
    expect(await readdir(pool.file("KVMHA"))).toEqual([`hb-${HOST}`]);
    expect(await write({ readBack: true })).toMatchObject({ ok: true, readback: "verified" });
  });

  it("rewrites an existing heartbeat in place: same inode, same size, no temporary file", async () => {
    await write({ nowEpochSeconds: NOW - 60 });
    const before = await stat(pool.file(`KVMHA/hb-${HOST}`));
    const result = await write();
    const after = await stat(pool.file(`KVMHA/hb-${HOST}`));
    expect(result).toMatchObject({ ok: true, mode: "in-place" });
    expect(after.ino).toBe(before.ino);
    expect(after.size).toBe(11);
    expect(await readdir(pool.file("KVMHA"))).toEqual([`hb-${HOST}`]);
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000000\n");
  });

  it("keeps the size fixed: a small epoch is zero-padded, a longer older content is cut, both read as upstream reads them", async () => {
    expect(await write({ nowEpochSeconds: 42 })).toMatchObject({ ok: true });
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("0000000042\n");
    // What upstream's reader computes: expr now - $(cat file).
    const upstream = spawnSync("bash", ["-c", 'expr 100 - $(cat "$1")', "reader", pool.file(`KVMHA/hb-${HOST}`)], { encoding: "utf8" });
    expect(upstream.stdout).toBe("58\n");
    await writeFile(pool.file(`KVMHA/hb-${HOST}`), "1764000000 and a long tail written by someone else\n");
    expect(await write()).toMatchObject({ ok: true, mode: "in-place" });
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000000\n");
  });

  it("keeps a sequence in the richer record that advances with every write, beside the heartbeat", async () => {
    expect(await write({ record: { bootId: "b1", state: "healthy" } })).toMatchObject({ ok: true, seq: 1 });
    expect(await write({ record: { bootId: "b1", state: "healthy" } })).toMatchObject({ ok: true, seq: 2 });
    expect(JSON.parse(await readFile(pool.file(`KVMHA/hbx-${HOST}.json`), "utf8"))).toEqual({ bootId: "b1", state: "healthy", seq: 2 });
    await writeFile(pool.file(`KVMHA/hbx-${HOST}.json`), "{torn");
    expect(await write({ record: { bootId: "b1" } })).toMatchObject({ ok: true, seq: 1 });
  });

  it("rewrites the record in place too, with the sequence the caller keeps, without reading it back", async () => {
    expect(await write({ record: { bootId: "b1", state: "a much longer state than the next one" } })).toMatchObject({ ok: true, seq: 1 });
    const { ino } = await stat(pool.file(`KVMHA/hbx-${HOST}.json`));
    await writeFile(pool.file(`KVMHA/hbx-${HOST}.json`), `${JSON.stringify({ bootId: "b1", seq: 40, state: "a much longer state than the next one" })}\n`);
    expect(await write({ record: { bootId: "b1", state: "ok" }, recordSeq: 3 })).toMatchObject({ ok: true, seq: 3 });
    expect((await stat(pool.file(`KVMHA/hbx-${HOST}.json`))).ino).toBe(ino);
    expect(parseRecord(await readFile(pool.file(`KVMHA/hbx-${HOST}.json`), "utf8"))).toEqual({ bootId: "b1", state: "ok", seq: 3 });
  });

  it("skips a FIFO or a symbolic link planted as the record with a warning, and writes the heartbeat", async () => {
    await write();
    const record = pool.file(`KVMHA/hbx-${HOST}.json`);
    expect(spawnSync("mkfifo", [record]).status).toBe(0);
    // Blocking opens of a FIFO without a reader would hold the worker until its deadline.
    for (const recordSeq of [undefined, 2]) {
      const result = await write({ record: { bootId: "b1" }, ...(recordSeq === undefined ? {} : { recordSeq }) });
      expect(result).toMatchObject({ ok: true, mode: "in-place", recordError: expect.stringMatching(/hbx-10\.0\.0\.5\.json is a FIFO.*skipped/) });
    }
    await rm(record);
    await symlink(pool.file("elsewhere.json"), record);
    expect(await write({ record: { bootId: "b1" } })).toMatchObject({ ok: true, recordError: expect.stringMatching(/hbx-10\.0\.0\.5\.json is a symbolic link: skipped/) });
    await expect(access(pool.file("elsewhere.json"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000000\n");
  });

  it.skipIf(process.getuid?.() !== 0)("skips a device planted as the record (root: mknod in the temp folder)", async () => {
    await write();
    const record = pool.file(`KVMHA/hbx-${HOST}.json`);
    expect(spawnSync("mknod", [record, "c", "1", "3"]).status).toBe(0);
    expect(await write({ record: { bootId: "b1" } })).toMatchObject({ ok: true, recordError: expect.stringMatching(/is a character device, not a regular file: skipped/) });
  });

  it("refuses a heartbeat file that is a symbolic link or a FIFO, naming it, and writes nothing through it", async () => {
    await mkdir(pool.file("KVMHA"));
    await writeFile(pool.file("target"), "untouched\n");
    await symlink(pool.file("target"), pool.file(`KVMHA/hb-${HOST}`));
    expect(await write()).toMatchObject({ ok: false, failure: "open", code: "ELOOP", message: expect.stringContaining(`KVMHA/hb-${HOST} is a symbolic link`) });
    expect(await readFile(pool.file("target"), "utf8")).toBe("untouched\n");
    await rm(pool.file(`KVMHA/hb-${HOST}`));
    expect(spawnSync("mkfifo", [pool.file(`KVMHA/hb-${HOST}`)]).status).toBe(0);
    expect(await write()).toMatchObject({ ok: false, failure: "open", message: expect.stringContaining("is a FIFO or a device") });
  });

  it("sweeps leftovers of killed attempts whose process is gone, and keeps those of live ones and of other hosts", async () => {
    await mkdir(pool.file("KVMHA"));
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid;
    const names = [`.hb-${HOST}.${gone}.1a2b.tmp`, `.hbx-${HOST}.${gone}.3c4d.tmp`, `.hb-${HOST}.${process.pid}.5e6f.tmp`, `.hb-10.0.0.6.${gone}.7a8b.tmp`];
    for (const name of names) await writeFile(pool.file(`KVMHA/${name}`), "1\n");
    expect(await write({ sweep: false })).toMatchObject({ ok: true, mode: "created", swept: 0 });
    // In place, nothing can be left behind: by default the folder is not even listed.
    expect(await write()).toMatchObject({ ok: true, mode: "in-place", swept: 0 });
    expect(await write({ sweep: true })).toMatchObject({ ok: true, swept: 2, sweepSkipped: 1 });
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

});

describe("where the write runs", () => {
  let pool: TempDir;
  const executor = new ProcessExecutor();
  const spawned: ExecRequest[] = [];
  const recording: Executor = { run: (request) => (spawned.push(request), executor.run(request)) };
  const write = (extra: Partial<Parameters<typeof writeHeartbeat>[0]> = {}) =>
    writeHeartbeat({ executor: recording, mountPoint: pool.path, hostId: HOST, nowEpochSeconds: NOW, deadlineMs: 7_000, ...extra });

  beforeEach(async () => {
    spawned.length = 0;
    pool = await makeTempDir();
  });
  afterEach(() => pool.remove());

  it("runs the I/O in a node child with its request on stdin, never through a shell", async () => {
    await write();
    expect(spawned).toHaveLength(1);
    expect(spawned[0]).toMatchObject({ file: process.execPath, deadlineMs: 7_000 });
    expect(spawned[0]?.keepAlive).toBeUndefined();
    expect(spawned[0]?.args.slice(0, 2)).toEqual(["--no-warnings", "-e"]);
    expect(JSON.parse(spawned[0]?.input ?? "")).toMatchObject({ op: "write", host: HOST, content: "1764000000\n" });
  });

  it("with the native worker, sends each write as one line to the worker kept for the pool's mount point", async () => {
    await write({ nativeWorker: NATIVE_WORKER });
    await write({ nativeWorker: NATIVE_WORKER, nowEpochSeconds: NOW + 1 });
    expect(spawned.map((request) => [request.file, request.args, request.keepAlive, request.group])).toEqual([
      [NATIVE_WORKER, [], pool.path, pool.path],
      [NATIVE_WORKER, [], pool.path, pool.path],
    ]);
    expect(spawned[1]?.input).not.toMatch(/\n/);
    expect(JSON.parse(spawned[1]?.input ?? "")).toMatchObject({ op: "write", host: HOST, content: "1764000001\n" });
    expect(await readFile(pool.file(`KVMHA/hb-${HOST}`), "utf8")).toBe("1764000001\n");
  });
});
