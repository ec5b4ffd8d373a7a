// hbd's storage workers as real processes: one native worker per pool, kept alive between
// heartbeats, ended with its pool, replaced when a write hangs; and a worker hb may not trust
// is refused. Its children are read from /proc, as an operator's `ps` would show them.
import { chmodSync, copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { nativeWorkerBuildPath } from "@hb/storage-nfs";
import { faultFsUnavailableReason, mountFaultFs } from "@hb/testkit";
import { hbdWorkspace, HOST_ID, processTestsUnavailable, startHbd, type HbdProcess } from "./hbd.js";

const unavailable = processTestsUnavailable() ?? faultFsUnavailableReason();
if (unavailable !== null) console.warn(`hbd storage worker tests skipped: ${unavailable}`);

const NATIVE = nativeWorkerBuildPath() ?? "";
// A try misses its 1.5 s deadline on hung storage; rounds 1 s apart.
const TIMINGS = ["heartbeat.update.timeout=1500", "kvm.heartbeat.update.frequency=1000", "kvm.heartbeat.update.max.tries=3", "kvm.heartbeat.update.retry.sleep=200", "hb.fence.dry.run=true"];

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
});

/** The native workers hbd has started and not reaped, by pid. */
function nativeWorkers(hbd: HbdProcess): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === hbd.pid && readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] === NATIVE;
      } catch {
        return false;
      }
    })
    .sort((a, b) => a - b);
}

const okWrites = (hbd: HbdProcess, pool: string) => hbd.attempts().filter((line) => line.pool === pool && line.result === "ok").length;

describe.skipIf(unavailable !== null)("hbd's storage workers (real hbd, real workers)", () => {
  it("keeps one native worker per pool across heartbeats, and ends the worker of a pool it drops", async () => {
    const { temp, pool, poolProperties } = await hbdWorkspace("hbd-workers-");
    cleanup.push(() => temp.remove());
    const second = temp.file("second");
    await mkdir(join(second, "KVMHA"), { recursive: true });
    // Both folders presented as NFS mounts.
    await writeFile(temp.file("mounts"), `10.0.0.2:/export/a ${pool} nfs rw 0 0\n10.0.0.2:/export/b ${second} nfs rw 0 0\n`);
    const base = [...TIMINGS, ...poolProperties, "hb.status.listen=127.0.0.1:0", `hb.state.dir=${temp.file("state")}`];
    const file = temp.file("agent.properties");
    const hbd = await startHbd(file, { properties: [...base, `hb.pools=nfs:${pool};nfs:${second}`] });
    cleanup.push(() => hbd.stop());

    await hbd.until("two heartbeats on each pool", () => okWrites(hbd, "pool") >= 2 && okWrites(hbd, "second") >= 2);
    expect(hbd.logged(/^storage worker: /).map((line) => line.msg)).toEqual([`storage worker: ${NATIVE} (one per pool, kept alive)`]);
    const workers = nativeWorkers(hbd);
    expect(workers).toHaveLength(2);
    const before = okWrites(hbd, "pool");
    await hbd.until("three more heartbeats", () => okWrites(hbd, "pool") >= before + 3);
    // The same two processes wrote them all.
    expect(nativeWorkers(hbd)).toEqual(workers);
    expect(readFileSync(join(pool, "KVMHA", `hb-${HOST_ID}`), "utf8")).toMatch(/^\d{10}\n$/);

    // The second pool is dropped from hb.pools: its worker ends, the first pool's stays.
    await writeFile(file, `${[...base, `hb.pools=nfs:${pool}`].join("\n")}\n`);
    hbd.child.kill("SIGHUP");
    await hbd.until("the pool dropped", () => hbd.logged(/^pool dropped/).length > 0);
    await hbd.until("the dropped pool's worker to exit", () => nativeWorkers(hbd).length === 1, 10_000);
    expect(workers).toContain(nativeWorkers(hbd)[0]);
    expect(await hbd.stop()).toBe("0");
  }, 60_000);

  it("abandons the worker of a hung write (counted as stuck) and starts a fresh one for the next try", async () => {
    const fuse = await mountFaultFs({ files: { "p/.keep": "" } });
    cleanup.push(() => fuse.unmount());
    const { temp, poolProperties } = await hbdWorkspace("hbd-workers-hung-");
    cleanup.push(() => temp.remove());
    const pool = join(fuse.mountPoint, "p");
    await writeFile(temp.file("mounts"), `10.0.0.2:/export/p ${pool} nfs rw 0 0\n`);
    const hbd = await startHbd(temp.file("agent.properties"), {
      properties: [...TIMINGS, ...poolProperties, "hb.status.listen=127.0.0.1:0", `hb.state.dir=${temp.file("state")}`, `hb.pools=nfs:${pool}`],
    });
    cleanup.push(() => hbd.stop());
    await hbd.until("a first heartbeat", () => okWrites(hbd, "p") >= 1);
    const kept = nativeWorkers(hbd);
    expect(kept).toHaveLength(1);

    await fuse.setFault({ hang: true, ops: ["open", "write", "fsync"] });
    const timeouts = () => hbd.attempts().filter((line) => line.pool === "p" && line.result === "timeout").length;
    await hbd.until("two tries timed out", () => timeouts() >= 2, 20_000);
    // Each hung try held a worker of its own in the kernel: the kept one first, then a fresh one.
    await hbd.until("two workers held by the hung mount", () => fuse.held() >= 2, 10_000);
    const during = nativeWorkers(hbd);
    expect(during).toContain(kept[0]);
    expect(during.length).toBeGreaterThanOrEqual(2);
    const status = `http://${/status: http:\/\/(\S+)\/status/.exec(hbd.stderr)?.[1] ?? ""}/status`;
    expect(((await (await fetch(status)).json()) as { stuckChildren: number }).stuckChildren).toBeGreaterThanOrEqual(1);

    await fuse.setFault({});
    const timedOut = timeouts();
    const writesBefore = okWrites(hbd, "p");
    await hbd.until("a heartbeat after recovery", () => okWrites(hbd, "p") > writesBefore, 20_000);
    // The stuck workers exit once the storage lets them go; one worker stays for the pool, a new one.
    await hbd.until("one worker left", () => nativeWorkers(hbd).length === 1, 10_000);
    expect(nativeWorkers(hbd)[0]).not.toBe(kept[0]);
    expect(timeouts()).toBeGreaterThanOrEqual(timedOut);
  }, 60_000);

  it("refuses a worker others may write, says so, and writes through Node children instead", async () => {
    const { temp, pool, poolProperties } = await hbdWorkspace("hbd-workers-untrusted-");
    cleanup.push(() => temp.remove());
    const folder = temp.file("bin");
    mkdirSync(folder, { mode: 0o755 });
    chmodSync(folder, 0o755);
    const copy = join(folder, "hb-storage-worker");
    copyFileSync(NATIVE, copy);
    chmodSync(copy, 0o775);
    const hbd = await startHbd(temp.file("agent.properties"), {
      properties: [...TIMINGS, ...poolProperties, "hb.status.listen=127.0.0.1:0", `hb.state.dir=${temp.file("state")}`, `hb.pools=nfs:${pool}`, `hb.storage.worker=${copy}`],
    });
    cleanup.push(() => hbd.stop());
    await hbd.until("two heartbeats", () => okWrites(hbd, "pool") >= 2);
    const line = hbd.logged(/^storage worker: /)[0];
    expect(line).toMatchObject({ level: 40, msg: `storage worker: node (a child per write): not used: ${copy} is writable by its group (mode 0775)` });
    expect(nativeWorkers(hbd)).toEqual([]);
  }, 60_000);
});
