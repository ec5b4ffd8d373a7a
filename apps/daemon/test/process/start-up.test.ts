// hbd starts wherever it can protect, and a reload never changes fencing by accident. Real hbd
// processes: real signals, a real read-only and a real full state folder (tmpfs), a pid file
// naming a live process that is not hbd.
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { readBootId } from "@hb/core";
import type { TempDir } from "@hb/testkit";
import { makeFakeVirsh } from "./fake-virsh.js";
import { control, hbdWorkspace, processTestsUnavailable, startHbd, TIMINGS, type HbdProcess } from "./hbd.js";

const unavailable = processTestsUnavailable();
if (unavailable !== null) console.warn(`hbd start-up tests skipped: ${unavailable}`);

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
});

function run(file: string, args: readonly string[]): void {
  const result = spawnSync(file, [...args], { encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0) throw new Error(`${file} ${args.join(" ")}: ${result.error?.message ?? result.stderr.trim()}`);
}

async function workspace(extra: readonly string[] = []): Promise<{ temp: TempDir; state: string; file: string; properties: string[] }> {
  const { temp, pool, poolProperties } = await hbdWorkspace("hbd-start-");
  cleanup.push(() => temp.remove());
  const state = temp.file("state");
  return { temp, state, file: temp.file("agent.properties"), properties: [...TIMINGS, ...poolProperties, "hb.status.listen=127.0.0.1:0", `hb.state.dir=${state}`, `hb.pools=nfs:${pool}`, ...extra] };
}

function track(hbd: HbdProcess): HbdProcess {
  cleanup.push(() => hbd.stop());
  return hbd;
}

const started = (hbd: HbdProcess) => hbd.logged(/^hbd started$/).length > 0;
const ok = (hbd: HbdProcess) => hbd.attempts().some((line) => line.result === "ok");

function statusUrl(hbd: HbdProcess): string {
  const address = /status: http:\/\/(\S+)\/status/.exec(hbd.stderr)?.[1];
  if (address === undefined) throw new Error(`no status address in ${hbd.stderr}`);
  return `http://${address}/status`;
}

describe.skipIf(unavailable !== null)("hbd starts wherever it can protect", () => {
  it("a SIGHUP during start-up neither kills hbd nor is lost", async () => {
    const { temp, file, properties } = await workspace(["hb.fence.step.timeout=5000"]);
    // libvirt is slow to answer: start-up waits for discovery.
    const virsh = await makeFakeVirsh(temp.file("bin"));
    await virsh.slow(2);
    const hbd = track(await startHbd(file, { properties, path: [virsh.dir] }));
    await hbd.until("start-up asking libvirt", () => existsSync(virsh.started));
    expect(started(hbd)).toBe(false);
    hbd.child.kill("SIGHUP");
    await hbd.until("the reload after start-up", () => hbd.logged(/^configuration reloaded$/).length > 0);
    expect(hbd.logged(/SIGHUP during start-up/)).toHaveLength(1);
    expect(hbd.child.exitCode).toBeNull();
    expect(await hbd.stop()).toBe("0");
  }, 60_000);

  it("takes over a pid file naming a live process that is not hbd (what a reboot leaves), and refuses a second hbd", async () => {
    const { state, file, properties } = await workspace();
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const other = spawn("sleep", ["600"], { stdio: "ignore" });
    cleanup.push(() => other.kill("SIGKILL"));
    // The old format (pid only), and the new one with this boot's id.
    for (const content of [`${other.pid}\n`, `${other.pid}\n${readBootId() ?? ""}\n`]) {
      writeFileSync(join(state, "hbd.pid"), content);
      const hbd = track(await startHbd(file, { properties }));
      await hbd.until("hbd started", () => started(hbd));
      expect(readFileSync(join(state, "hbd.pid"), "utf8").split("\n")[0]).toBe(String(hbd.pid));

      const second = track(await startHbd(file, { properties }));
      expect(await second.exited).toBe("1");
      expect(second.logged(/could not start/).map((line) => line.err)).toEqual([expect.stringMatching(/another hbd \(\d+\) runs on/)]);
      expect(await hbd.stop()).toBe("0");
      expect(existsSync(join(state, "hbd.pid"))).toBe(false);
    }
  }, 60_000);

  it("a FIFO or a symbolic link as hbd.pid neither hangs the start nor is followed", async () => {
    // Another hbd, whose pid file a planted link points at: followed, it would stop this start.
    const other = await workspace();
    const first = track(await startHbd(other.file, { properties: other.properties }));
    await first.until("the first hbd started", () => started(first));
    const { state, temp, file, properties } = await workspace();
    mkdirSync(state, { recursive: true, mode: 0o700 });
    const pidFile = join(state, "hbd.pid");
    const fifo = temp.file("fifo");
    run("mkfifo", [fifo]);
    const plants: [string, () => void][] = [
      ["a FIFO", () => run("mkfifo", [pidFile])],
      ["a link to a FIFO", () => symlinkSync(fifo, pidFile)],
      ["a link to a running hbd's pid file", () => symlinkSync(join(other.state, "hbd.pid"), pidFile)],
    ];
    for (const [what, plant] of plants) {
      plant();
      const hbd = track(await startHbd(file, { properties }));
      await hbd.until(`hbd started over ${what}`, () => started(hbd) && ok(hbd));
      expect({ what, pidFile: lstatSync(pidFile).isFile(), pid: readFileSync(pidFile, "utf8").split("\n")[0] }).toEqual({ what, pidFile: true, pid: String(hbd.pid) });
      expect(await hbd.stop()).toBe("0");
      expect(existsSync(pidFile)).toBe(false);
    }
    // What the links pointed at is as it was.
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    expect(readFileSync(join(other.state, "hbd.pid"), "utf8").split("\n")[0]).toBe(String(first.pid));
  }, 120_000);

  it("starts on a read-only state folder, warns, and runs its loop", async () => {
    const { state, file, properties } = await workspace();
    mkdirSync(state, { recursive: true, mode: 0o700 });
    run("mount", ["-t", "tmpfs", "-o", "ro,size=1m,mode=0700", "hb-test-ro", state]);
    cleanup.push(() => run("umount", ["-l", state]));
    const hbd = track(await startHbd(file, { properties }));
    await hbd.until("hbd started and a good heartbeat", () => started(hbd) && ok(hbd));
    expect(hbd.stderr).toMatch(/WARNING state folder: cannot create \S+hbd\.pid: EROFS/);
    expect(hbd.stderr).toMatch(/WARNING no control socket/);
    const status = (await (await fetch(statusUrl(hbd))).json()) as { healthy: boolean; healthProblems: string[]; targets: { state: string }[] };
    expect(status.targets.map((target) => target.state)).toEqual(["healthy"]);
    expect(status.healthProblems.join("\n")).toMatch(/no control socket/);
  }, 60_000);

  it("starts on a full state folder and leaves no empty hbd.pid", async () => {
    const { state, file, properties } = await workspace();
    mkdirSync(state, { recursive: true, mode: 0o700 });
    run("mount", ["-t", "tmpfs", "-o", "size=64k,mode=0700", "hb-test-full", state]);
    cleanup.push(() => run("umount", ["-l", state]));
    try {
      writeFileSync(join(state, "filler"), Buffer.alloc(1024 * 1024));
    } catch (error) {
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
    }
    const hbd = track(await startHbd(file, { properties }));
    await hbd.until("hbd started and a good heartbeat", () => started(hbd) && ok(hbd));
    expect(hbd.stderr).toMatch(/WARNING state folder: cannot write \S+hbd\.pid: ENOSPC/);
    expect(existsSync(join(state, "hbd.pid"))).toBe(false);
    expect(await hbd.stop()).toBe("0");
    expect(existsSync(join(state, "hbd.pid"))).toBe(false);
  }, 60_000);
});

describe.skipIf(unavailable !== null)("a reload never changes fencing by accident", () => {
  it("SIGHUP with agent.properties removed, garbage or unreadable keeps log-only and dry run, and shows the configuration stale", async () => {
    const { state, file, properties } = await workspace(["kvm.heartbeat.fence.action=log-only", "hb.fence.dry.run=true"]);
    const hbd = track(await startHbd(file, { properties }));
    await hbd.until("hbd started", () => started(hbd));
    const socket = join(state, "hbd.sock");
    const good = readFileSync(file);
    const breakages: [string, () => void][] = [
      ["removed", () => rmSync(file)],
      ["binary garbage", () => writeFileSync(file, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x00, 0x42]))],
      ["text that is not agent.properties", () => writeFileSync(file, "lorem ipsum dolor\nsit amet\n")],
      ["rejected by java.util.Properties", () => writeFileSync(file, `${good.toString()}bad=\\uZZZZ\n`)],
      ["unreadable (a folder in its place)", () => (rmSync(file), mkdirSync(file))],
    ];
    let since: string | undefined;
    for (const [what, breakIt] of breakages) {
      rmSync(file, { recursive: true, force: true });
      writeFileSync(file, good);
      breakIt();
      const refusals = hbd.logged(/^reload refused/).length;
      hbd.child.kill("SIGHUP");
      await hbd.until(`the reload refused (${what})`, () => hbd.logged(/^reload refused/).length > refusals);
      const { result } = await control(socket, { op: "status" });
      expect({ what, action: result.action, dryRun: result.dryRun, fences: result.fences }).toEqual({ what, action: "log-only", dryRun: true, fences: false });
      expect(result.config).toMatchObject({ path: file, stale: { since: expect.any(String), reason: expect.any(String) } });
      since ??= result.config.stale?.since;
      // Stale since the first reload that failed, until one succeeds.
      expect(result.config.stale?.since).toBe(since);
      expect(result.healthProblems.join("\n")).toMatch(/configuration stale since/);
    }
    expect(hbd.logged(/^configuration reloaded$/)).toEqual([]);

    rmSync(file, { recursive: true, force: true });
    writeFileSync(file, `${good.toString()}hb.fence.step.timeout=1500\n`);
    hbd.child.kill("SIGHUP");
    await hbd.until("a good reload", () => hbd.logged(/^configuration reloaded$/).length > 0);
    const { result } = await control(socket, { op: "status" });
    expect(result).toMatchObject({ action: "log-only", dryRun: true, config: { path: file, stale: null } });
    // Defaults were never said: the first start had the file.
    expect(hbd.log.filter((line) => /running on CloudStack's defaults/.test(String(line.msg)))).toEqual([]);
  }, 120_000);

  it("the control socket's folder is closed to others, and the socket is its owner's only", async () => {
    const { state, file, properties } = await workspace();
    mkdirSync(state, { recursive: true });
    chmodSync(state, 0o777);
    const hbd = track(await startHbd(file, { properties }));
    await hbd.until("hbd started", () => started(hbd));
    const { statSync } = await import("node:fs");
    expect(statSync(state).mode & 0o777).toBe(0o700);
    expect(statSync(join(state, "hbd.sock")).mode & 0o777).toBe(0o600);
    expect(hbd.logged(/was writable by others/)).toHaveLength(1);
  }, 60_000);
});
