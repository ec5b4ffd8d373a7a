import { spawnSync } from "node:child_process";
import { chmod, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core/adapters";
import { makeTempDir } from "@hb/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { writeHeartbeat } from "../src/index.js";
import { NATIVE_WORKER } from "./workers.js";

const HOST = "10.0.0.5";
const NOW = 1_764_000_000;
const temp = await makeTempDir("hb-kept-worker-");
afterAll(() => temp.remove());

/** This process's children running `program`, by pid. */
async function children(program: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = await readFile(`/proc/${name}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (parent === process.pid && (await readFile(`/proc/${name}/cmdline`, "utf8")).split("\0").includes(program)) pids.push(Number(name));
    } catch {
      // Gone while we looked.
    }
  }
  return pids;
}

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const end = performance.now() + 10_000;
  while (!(await condition())) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("a pool's kept native worker", () => {
  it("serves every write while it lives; killed from outside, it is replaced by the next write", async () => {
    const pool = temp.file("pool");
    await mkdir(pool);
    const executor = new ProcessExecutor();
    const write = (seconds: number) => writeHeartbeat({ executor, mountPoint: pool, hostId: HOST, nowEpochSeconds: seconds, deadlineMs: 10_000, nativeWorker: NATIVE_WORKER });
    for (const seconds of [NOW, NOW + 1, NOW + 2]) expect(await write(seconds)).toMatchObject({ ok: true });
    const [worker] = await children(NATIVE_WORKER);
    expect(await children(NATIVE_WORKER)).toEqual([worker]);
    expect(executor.kept).toBe(1);

    process.kill(worker as number, "SIGKILL");
    await until(async () => !(await children(NATIVE_WORKER)).includes(worker as number), "the killed worker to be reaped");
    expect(await write(NOW + 3)).toMatchObject({ ok: true, mode: "in-place" });
    const [fresh] = await children(NATIVE_WORKER);
    expect(fresh).not.toBe(worker);
    expect(await readFile(`${pool}/KVMHA/hb-${HOST}`, "utf8")).toBe(`${NOW + 3}\n`);
    executor.releaseAll();
    await until(async () => (await children(NATIVE_WORKER)).length === 0, "the released worker to exit");
  });

  it("a worker that answers nonsense fails the write with what it said, and the next write gets a fresh one", async () => {
    const pool = temp.file("pool-garbage");
    await mkdir(pool);
    // A program in the worker's place that answers every request with a line that is no reply.
    const liar = temp.file("liar.sh");
    await writeFile(liar, '#!/bin/sh\nwhile read -r line; do echo "all is well, says $$"; done\n');
    await chmod(liar, 0o755);
    const executor = new ProcessExecutor();
    const write = () => writeHeartbeat({ executor, mountPoint: pool, hostId: HOST, nowEpochSeconds: NOW, deadlineMs: 10_000, nativeWorker: liar });
    const said = async () => {
      const result = await write();
      expect(result).toMatchObject({ ok: false, failure: "worker", code: "EWORKER", message: expect.stringMatching(/^the storage worker answered something that is not a reply: "all is well, says \d+"$/) });
      return result.ok ? "" : result.message;
    };
    // Released after its nonsense: each write meets a new process.
    const [first, second] = [await said(), await said()];
    expect(first).not.toBe(second);
    await until(async () => (await children(liar)).length === 0, "the liars to exit");
    expect(executor.kept).toBe(0);
    expect(spawnSync("ls", [`${pool}/KVMHA`]).status).not.toBe(0);
  });

  it.skipIf(process.getuid?.() !== 0)("keeps nothing between writes: after a remount of the pool, the same worker writes to the new filesystem (root: real tmpfs mounts)", async () => {
    const pool = temp.file("pool-remount");
    await mkdir(pool);
    const mount = () => expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", pool], { encoding: "utf8" }).stderr).toBe("");
    const executor = new ProcessExecutor();
    const write = (seconds: number) => writeHeartbeat({ executor, mountPoint: pool, hostId: HOST, nowEpochSeconds: seconds, deadlineMs: 10_000, nativeWorker: NATIVE_WORKER });
    mount();
    try {
      expect(await write(NOW)).toMatchObject({ ok: true, mode: "created" });
      expect(await write(NOW + 1)).toMatchObject({ ok: true, mode: "in-place" });
      const [worker] = await children(NATIVE_WORKER);
      // The agent remounts the pool: a new, empty filesystem at the same path.
      expect(spawnSync("umount", [pool]).status).toBe(0);
      mount();
      expect(await write(NOW + 2)).toMatchObject({ ok: true, mode: "created" });
      expect(await children(NATIVE_WORKER)).toEqual([worker]);
      expect(await readFile(`${pool}/KVMHA/hb-${HOST}`, "utf8")).toBe(`${NOW + 2}\n`);
    } finally {
      executor.releaseAll();
      spawnSync("umount", [pool]);
    }
  });
});
