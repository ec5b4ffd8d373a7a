import { join } from "node:path";
import { writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { SimulatedClock, type FenceDecision, type HeartbeatTarget } from "@hb/core";
import pino from "pino";
import { Daemon, type DaemonDeps } from "./daemon.js";
import { fakeDaemonDeps } from "../test/fake-deps.js";
import { controlRequest } from "../test/scenario-harness.js";

const FAST = [
  "heartbeat.update.timeout=300",
  "kvm.heartbeat.update.frequency=200",
  "kvm.heartbeat.update.max.tries=2",
  "kvm.heartbeat.update.retry.sleep=100",
  "hb.status.listen=127.0.0.1:0",
  "hb.host.ip=10.0.0.5",
  "hb.pools=nfs:/mnt/pool-a;nfs:/mnt/pool-b",
];

let temp: TempDir;
const daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.splice(0).map((d) => d.stop()));
  await temp?.remove();
});

function setup(extra: string[] = [], behaviour: (pool: string) => "ok" | "hang" = () => "ok") {
  const decisions: FenceDecision[] = [];
  const stderr: string[] = [];
  clock = new SimulatedClock();
  const deps = fakeDaemonDeps({
    clock,
    makeTarget: (pool): HeartbeatTarget => ({ id: pool.id, attempt: () => (behaviour(pool.id) === "hang" ? new Promise(() => undefined) : Promise.resolve({ ok: true })) }),
    makeFence: (config) => ({ name: config["kvm.heartbeat.fence.action"], execute: async (d) => (decisions.push(d), { action: d.action, outcome: "recorded", acted: false }) }),
    stderr: (text) => void stderr.push(text),
  });
  return { deps, decisions, stderr, properties: [...FAST, `hb.state.dir=${temp.path}/state`, ...extra].join("\n") + "\n" };
}

async function start(properties: string, deps: DaemonDeps): Promise<{ daemon: Daemon; file: string }> {
  const file = temp.file("agent.properties");
  await writeFile(file, properties);
  const daemon = new Daemon({ propertiesPath: file }, deps);
  await daemon.start();
  daemons.push(daemon);
  return { daemon, file };
}

// The simulated clock moves 50 ms at a time; sockets and fetches between the steps are real.
let clock: SimulatedClock;
const until = async (predicate: () => boolean) => {
  while (!predicate()) {
    await clock.runUntil(clock.monoMs() + 50);
    await new Promise((resolve) => setImmediate(resolve));
  }
};

describe("hbd", () => {
  it("monitors every declared pool and serves status, health and metrics on loopback", async () => {
    temp = await makeTempDir("hbd-");
    const { deps, stderr, properties } = setup();
    const { daemon } = await start(properties, deps);
    await until(() => daemon.status().targets.every((t) => t.state === "healthy"));
    const base = `http://${daemon.statusAddress}`;
    const status = (await (await fetch(`${base}/status`)).json()) as { targets: { id: string; state: string }[] };
    expect(status.targets.map((t: { id: string; state: string }) => [t.id, t.state])).toEqual([
      ["pool-a", "healthy"],
      ["pool-b", "healthy"],
    ]);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/hb_target_state\{pool="pool-a",state="healthy"\} 1/);
    expect(metrics).toMatch(/hb_attempt_latency_seconds_count\{pool="pool-b",result="ok"\} \d+/);
    expect((await fetch(`${base}/status`, { method: "POST" })).status).toBe(405);
    expect(stderr.join("")).toMatch(/fence action: hard-reboot\n {2}a real fence/);
  });

  it("says at start-up whether graceful-reboot has a guaranteed deadline on this host", async () => {
    temp = await makeTempDir("hbd-");
    const { deps, stderr, properties } = setup(["kvm.heartbeat.fence.action=graceful-reboot"]);
    await start(properties, deps);
    expect(stderr.join("")).toMatch(/graceful-reboot has (NO )?guaranteed deadline/);
  });

  it("refuses a second instance on the same state directory", async () => {
    temp = await makeTempDir("hbd-");
    const { deps, properties } = setup();
    await start(properties, deps);
    const second = new Daemon({ propertiesPath: temp.file("agent.properties") }, { ...deps, pid: process.pid + 1 });
    await expect(second.start()).rejects.toMatchObject({ code: "ALREADY_RUNNING" });
  });

  it("decides for a hung pool while the other stays healthy, suspends fencing through the control socket, and reloads a new action", async () => {
    temp = await makeTempDir("hbd-");
    let hang = false;
    const { deps, decisions, properties } = setup([], (pool) => (pool === "pool-a" && hang ? "hang" : "ok"));
    const { daemon, file } = await start(properties, deps);
    await until(() => daemon.status().targets.every((t) => t.armed));
    const socket = join(temp.path, "state", "hbd.sock");
    expect(await controlRequest(socket, { op: "maintenance-on", ttlMs: 60_000, reason: "test" })).toMatchObject({ ok: true });
    hang = true;
    await until(() => decisions.length === 1);
    expect(decisions[0]).toMatchObject({ target: "pool-a", mode: "suppressed", isFence: false });
    expect(daemon.status().targets.find((t) => t.id === "pool-b")?.state).toBe("healthy");
    expect(await controlRequest(socket, { op: "bogus" })).toMatchObject({ ok: false, error: expect.stringMatching(/unknown op/) });

    await writeFile(file, `${properties}kvm.heartbeat.fence.action=log-only\n`);
    expect(await controlRequest(socket, { op: "reload" })).toMatchObject({ ok: true, result: { action: "log-only" } });
    expect(daemon.status()).toMatchObject({ action: "log-only", fences: false });
    expect(daemon.status().targets.find((t) => t.id === "pool-a")?.state).toBe("dead");
  });

  it("starts with a status address it cannot use, and says so", async () => {
    temp = await makeTempDir("hbd-");
    for (const listen of ["0.0.0.0:0", "garbage"]) {
      const lines: string[] = [];
      const { deps, properties } = setup([`hb.status.listen=${listen}`, `hb.state.dir=${temp.path}/state-${listen}`]);
      const { daemon } = await start(properties, { ...deps, log: pino({ level: "warn" }, { write: (line: string) => void lines.push(line) }) });
      await until(() => daemon.status().targets.every((t) => t.state === "healthy"));
      const status = daemon.status();
      // Either the configuration reports the value and uses the default, or the endpoint is
      // not bound and says why: hbd runs in both cases.
      const reported = lines.some((line) => line.includes('"key":"hb.status.listen"'));
      if (!reported) {
        expect(status.statusEndpoint).toMatchObject({ listen, bound: false, error: expect.stringMatching(/hb\.status\.listen/) });
        expect(status.healthy).toBe(false);
        expect(status.healthProblems.join("\n")).toMatch(/status endpoint .* not bound/);
        expect(lines.join("")).toMatch(/NO STATUS ENDPOINT/);
      }
      // The loop's own health, which alone feeds the watchdog, is not an outsider's to take.
      expect(daemon.healthy()).toBe(true);
      await daemon.stop();
    }
  });

  it("shows libvirt discovery failing for good in its health, keeps the known pools, and retries on reload", async () => {
    temp = await makeTempDir("hbd-");
    let broken = false;
    const { deps, properties } = setup(["hb.pools="]);
    const discoverPools = async () => {
      if (broken) throw new Error("virsh could not be started (EMFILE: hb's own fault, not libvirt's)");
      return [{ kind: "nfs" as const, id: "lv-1", mountPoint: "/mnt/lv-1", source: "libvirt" as const }];
    };
    const { daemon } = await start(properties, { ...deps, addressOf: () => "10.0.0.5", discoverPools });
    await until(() => daemon.status().targets.some((t) => t.id === "lv-1" && t.state === "healthy"));
    expect(daemon.status()).toMatchObject({ healthy: true, discovery: { state: "ok" } });
    broken = true;
    await until(() => daemon.status().discovery.failures >= 3);
    const status = daemon.status();
    expect(status.targets.map((t) => t.id)).toEqual(["lv-1"]);
    expect(status.healthy).toBe(false);
    expect(status.healthProblems.join("\n")).toMatch(/libvirt pool discovery failing since .*EMFILE/);
    expect(daemon.healthy()).toBe(true);
    broken = false;
    await daemon.reload();
    expect(daemon.status()).toMatchObject({ healthy: true, discovery: { state: "ok", failures: 0 } });
  });

  it("shows hb's own faults as inconclusive attempts in status, metrics and the log, never as failures", async () => {
    temp = await makeTempDir("hbd-");
    const lines: string[] = [];
    let own = false;
    const { deps, properties } = setup();
    const makeTarget: DaemonDeps["makeTarget"] = (pool) => ({
      id: pool.id,
      attempt: async () => (own && pool.id === "pool-a" ? { ok: false, reason: "inconclusive", message: "cannot start the writer: spawn EMFILE" } : { ok: true }),
    });
    const { daemon } = await start(properties, { ...deps, makeTarget, log: pino({ level: "warn" }, { write: (line: string) => void lines.push(line) }) });
    await until(() => daemon.status().targets.every((t) => t.state === "healthy"));
    own = true;
    await until(() => lines.some((line) => line.includes('"to":"inconclusive"')));
    const metrics = await (await fetch(`http://${daemon.statusAddress}/metrics`)).text();
    const target = daemon.status().targets.find((t) => t.id === "pool-a");
    // Past the decision bound, hbd's own blindness is a decision of its own (core's rule); before it, the state says inconclusive.
    if (target?.state === "inconclusive") expect(metrics).toMatch(/hb_target_state\{pool="pool-a",state="inconclusive"\} 1/);
    expect(target).toMatchObject({ consecutiveFailures: 0, inconclusiveAttempts: expect.any(Number) });
    expect(target?.inconclusiveAttempts).toBeGreaterThan(0);
    expect(metrics).toMatch(/hb_inconclusive_attempts_total\{pool="pool-a",code="EMFILE"\} [1-9]/);
    expect(lines.join("")).toMatch(/inconclusive attempt \(hb's own fault, not the storage's; not a failed try\): cannot start the writer: spawn EMFILE/);
  });
});
