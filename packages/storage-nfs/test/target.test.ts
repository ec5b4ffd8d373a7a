import { spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync } from "node:fs";
import { access, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import type { Executor } from "@hb/core";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { makeTempDir } from "@hb/testkit";
import { NfsHeartbeatTarget } from "../src/index.js";
import { NATIVE_WORKER, WORKERS } from "./workers.js";

const temp = await makeTempDir("hb-nfs-target-");
afterAll(() => temp.remove());

describe("NfsHeartbeatTarget with a mount table", () => {
  it.each(WORKERS)("writes while the pool is an NFS mount, and fails without writing once the mount is gone: $name", async ({ name, worker }) => {
    const pool = temp.file(`pool-${name.length}`);
    await mkdir(pool);
    const mounts = temp.file("mounts");
    await writeFile(mounts, `10.0.0.2:/export ${pool} nfs rw,relatime,vers=3 0 0\n`);
    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts, ...worker });
    const attempt = () => target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal });
    expect(await attempt()).toMatchObject({ ok: true });
    expect(await readFile(`${pool}/KVMHA/hb-10.0.0.5`, "utf8")).toMatch(/^\d+\n$/);
    await rm(`${pool}/KVMHA/hb-10.0.0.5`);
    // The mount vanishes (the agent's umount, a lazy unmount): the folder is now local disk.
    await writeFile(mounts, "proc /proc proc rw 0 0\n");
    expect(await attempt()).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/is not an NFS mount .*local disk/), evidence: { failure: "mount", code: "ENOTNFS" } });
    await expect(access(`${pool}/KVMHA/hb-10.0.0.5`)).rejects.toThrow(); // nothing reached the local disk
    await writeFile(mounts, `10.0.0.2:/export ${pool}2 nfs rw 0 0\n`); // a neighbour path is not this pool
    expect(await attempt()).toMatchObject({ ok: false, evidence: { failure: "mount" } });
    // /proc/self/mounts is a symbolic link: followed; a FIFO planted as the table is refused, not waited on.
    expect(await new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: "/proc/self/mounts", ...worker }).attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal })).toMatchObject({ ok: false, reason: "error", evidence: { code: "ENOTNFS" } });
    const fifo = temp.file(`fifo-${name.length}`);
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    expect(await new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: fifo, ...worker }).attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal })).toMatchObject({ ok: false, reason: "error", message: expect.stringContaining(`cannot read the mount table ${fifo}: ${fifo} is a FIFO`), evidence: { code: "EFTYPE" } });
  });
});

describe("NfsHeartbeatTarget: hb's own faults are inconclusive, never failed tries", () => {
  it("a storage worker that cannot be started is inconclusive", async () => {
    const pool = temp.file("pool-spawn");
    await mkdir(pool);
    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), nodePath: temp.file("no-such-node") });
    expect(await target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal })).toMatchObject({
      ok: false,
      reason: "inconclusive",
      message: expect.stringContaining("could not be started (ENOENT)"),
      evidence: { failure: "spawn", code: "ENOENT" },
    });
  });

  it("out of descriptors (real: prlimit on this process, then every descriptor taken), the mount table and the worker are inconclusive; then the heartbeat goes on", async () => {
    const pool = temp.file("pool-emfile");
    await mkdir(pool);
    const mounts = temp.file("mounts-emfile");
    await writeFile(mounts, `10.0.0.2:/export ${pool} nfs rw 0 0\n`);
    const filler = temp.file("filler");
    await writeFile(filler, "");
    const withTable = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), mountsFile: mounts });
    const withoutTable = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock() });
    const attempt = (target: NfsHeartbeatTarget) => target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal });

    const limits = spawnSync("prlimit", ["--pid", String(process.pid), "--nofile", "--output", "SOFT,HARD", "--noheadings", "--raw"], { encoding: "utf8" }).stdout.trim().split(/\s+/);
    const open = readdirSync("/proc/self/fd").length;
    expect(spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${open + 64}:${limits[1]}`]).status).toBe(0);
    const taken: number[] = [];
    try {
      for (;;) {
        try {
          taken.push(openSync(filler, "r"));
        } catch (error) {
          expect(error).toMatchObject({ code: "EMFILE" });
          break;
        }
      }
      // The mount table is read by the worker, which cannot be started without descriptors.
      expect(await attempt(withTable)).toMatchObject({ ok: false, reason: "inconclusive", evidence: { failure: "spawn", code: "EMFILE" } });
      expect(await attempt(withoutTable)).toMatchObject({ ok: false, reason: "inconclusive", evidence: { failure: "spawn", code: "EMFILE" } });
    } finally {
      for (const fd of taken) closeSync(fd);
      spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${limits[0]}:${limits[1]}`]);
    }
    expect(await attempt(withTable)).toMatchObject({ ok: true });
  });
});

describe("NfsHeartbeatTarget: the native worker out of descriptors", () => {
  it("cannot read the mount table for its own fault: inconclusive, never a failed try", async () => {
    const pool = temp.file("pool-worker-emfile");
    await mkdir(pool);
    const mounts = temp.file("mounts-worker-emfile");
    await writeFile(mounts, `10.0.0.2:/export ${pool} nfs rw 0 0\n`);
    // The worker started with descriptors 0, 1 and 2 only: its every open fails with EMFILE.
    const inner = new ProcessExecutor();
    const starved: Executor = { run: (request) => inner.run({ ...request, file: "prlimit", args: ["--nofile=3:3", "--", request.file, ...request.args] }) };
    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint: pool, hostId: "10.0.0.5", executor: starved, clock: new SystemClock(), mountsFile: mounts, nativeWorker: NATIVE_WORKER });
    expect(await target.attempt({ seq: 1, deadlineMs: 10_000, signal: new AbortController().signal })).toMatchObject({
      ok: false,
      reason: "inconclusive",
      message: expect.stringContaining(`cannot read the mount table ${mounts}: EMFILE`),
      evidence: { failure: "mount", code: "EMFILE" },
    });
    await expect(access(`${pool}/KVMHA`)).rejects.toThrow();
  });
});
