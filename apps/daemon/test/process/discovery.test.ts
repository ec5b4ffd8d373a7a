// libvirt discovery through hb's own faults: hbd runs out of descriptors (its RLIMIT_NOFILE
// lowered with prlimit while it runs) so that virsh cannot even start. The pools it knows
// stay; discovery is retried; its failure shows in the health; SIGHUP brings new pools in.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { makeFakeVirsh } from "./fake-virsh.js";
import { control, hbdWorkspace, HOST_ID, processTestsUnavailable, startHbd, TIMINGS } from "./hbd.js";

const unavailable = processTestsUnavailable();
if (unavailable !== null) console.warn(`hbd discovery tests skipped: ${unavailable}`);

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
});

function prlimitNofile(pid: number, soft: number | "unlimited-as-hard"): void {
  const value = soft === "unlimited-as-hard" ? "20000:" : `${soft}:`;
  const result = spawnSync("prlimit", ["--pid", String(pid), `--nofile=${value}`], { encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0) throw new Error(`prlimit: ${result.stderr.trim()}`);
}

describe.skipIf(unavailable !== null)("libvirt discovery through hb's own faults", () => {
  it("keeps its libvirt pools while virsh cannot start (EMFILE), and takes new pools again after SIGHUP", async () => {
    const { temp, pool } = await hbdWorkspace("hbd-discovery-");
    cleanup.push(() => temp.remove());
    // Two libvirt pools presented as NFS mounts: p1 now, p2 later.
    const second = temp.file("pool2");
    mkdirSync(join(second, "KVMHA"), { recursive: true });
    const mounts = temp.file("mounts");
    writeFileSync(mounts, `10.0.0.2:/export/p1 ${pool} nfs rw 0 0\n10.0.0.2:/export/p2 ${second} nfs rw 0 0\n`);
    const virsh = await makeFakeVirsh(temp.file("bin"));
    await virsh.setPools({ p1: pool });
    const state = temp.file("state");
    const properties = [
      ...TIMINGS,
      `hb.mounts.file=${mounts}`,
      `hb.host.ip=${HOST_ID}`,
      `hb.fence.sysrq.trigger=${temp.file("sysrq-trigger")}`,
      "kvm.heartbeat.fence.action=log-only",
      "hb.fence.dry.run=true",
      "hb.status.listen=127.0.0.1:0",
      `hb.state.dir=${state}`,
    ];
    const hbd = await startHbd(temp.file("agent.properties"), { properties, path: [virsh.dir] });
    cleanup.push(() => hbd.stop());
    await hbd.until("p1 added from libvirt", () => hbd.log.some((line) => line.msg === "pool added" && line.pool === "p1"));
    await hbd.until("a good heartbeat on p1", () => hbd.attempts().some((line) => line.pool === "p1" && line.result === "ok"));

    // hbd's own descriptors run out: no child (virsh, a heartbeat) can start.
    const failuresBefore = hbd.logged(/^libvirt pool discovery failed/).length;
    prlimitNofile(hbd.pid, hbd.openDescriptors());
    try {
      await hbd.until("three failed discoveries", () => hbd.logged(/^libvirt pool discovery failed/).length >= failuresBefore + 3, 60_000);
    } finally {
      prlimitNofile(hbd.pid, "unlimited-as-hard");
    }
    expect(hbd.logged(/^libvirt pool discovery failed/).at(-1)?.err).toMatch(/EMFILE/);
    expect(hbd.log.filter((line) => line.msg?.startsWith("pool dropped"))).toEqual([]);
    expect(hbd.logged(/no libvirt pool discovery/)).toEqual([]);

    await virsh.setPools({ p1: pool, p2: second });
    hbd.child.kill("SIGHUP");
    await hbd.until("p2 added after SIGHUP", () => hbd.log.some((line) => line.msg === "pool added" && line.pool === "p2"));
    const { result } = await control(join(state, "hbd.sock"), { op: "status" });
    expect(result.targets.map((target) => target.id).sort()).toEqual(["p1", "p2"]);
    expect(result.discovery).toMatchObject({ state: "ok", failures: 0, error: null });
  }, 120_000);
});
