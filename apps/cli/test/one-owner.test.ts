// One owner of the fence decision, end to end: a real hbd (apps/daemon/bin/hbd.js) watches a
// FUSE pool and a LINSTOR target; the agent's -c entry points, run as the agent runs them, defer
// to it, on its answer over its control socket, while its verdict is not dead; with hbd stopped (SIGSTOP) they act, loudly; with hbd
// gone they act. hbd counts the deferrals in its status and metrics; `hb fence last` shows them.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type FakeDrbdsetup, type FaultFs, faultFsUnavailableReason, fenceHost, type FenceHost, freePort, makeFakeDrbdsetup, mountFaultFs } from "@hb/testkit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCompat } from "./agent-run.js";
import { runHb } from "./harness.js";

const hbdBin = fileURLToPath(new URL("../../daemon/bin/hbd.js", import.meta.url));
const hbdBuilt = fileURLToPath(new URL("../../daemon/dist/main.js", import.meta.url));
const REBOOT = (script: string) => [`logger -t heartbeat -- ${script} will reboot system because it was unable to write the heartbeat to the storage.`, "s", "sync", "b"];

const runScript = (host: FenceHost, args: readonly string[]) => runCompat(host, args);

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`one-owner test: no FUSE here (${unavailable}); the NFS pool is a plain temporary folder`);

describe("hbd beside the agent: one owner of the fence decision", () => {
  let host: FenceHost;
  let fs: FaultFs | undefined;
  let pool: string;
  let drbd: FakeDrbdsetup;
  let listen: string;
  let hbd: ChildProcess | undefined;
  let hbdLog = "";
  let seen = 0;

  /** Events (syslog lines, sysrq keys) since the previous call. */
  const newEvents = async () => {
    const all = await host.eventNames();
    const fresh = all.slice(seen);
    seen = all.length;
    return fresh;
  };
  const status = async () => (await (await fetch(`http://${listen}/status`)).json()) as {
    targets: { id: string; kind: string; state: string; armed: boolean }[];
    vetoes: { total: number; deferred: number; byCheck: Record<string, number>; last: { source: string; outcome: string } | null };
  };
  const nfsArgs = () => ["kvmheartbeat", "-i", "10.0.0.1", "-p", "/export/primary", "-m", pool, "-c"];

  beforeAll(async () => {
    if (!existsSync(hbdBuilt)) throw new Error("hbd is not built: run `pnpm --filter @hb/daemon build` first");
    host = await fenceHost();
    if (unavailable === null) {
      fs = await mountFaultFs();
      pool = fs.mountPoint;
    } else {
      pool = host.temp.file("pool");
      await mkdir(pool);
    }
    drbd = await makeFakeDrbdsetup();
    await drbd.answer("events2", { fixture: "three-node-tiebreaker.events2.txt" });
    listen = `127.0.0.1:${await freePort()}`;
    // hbd writes only to a pool the mount table shows as NFS: the test's table says so of this one.
    const mounts = host.temp.file("mounts");
    // Soft, with tries that outlast heartbeat.update.timeout (3.4 s × 3): hb doctor finds it sane.
    await writeFile(mounts, `10.0.0.1:/export/primary ${pool} nfs rw,relatime,vers=3,soft,proto=tcp,timeo=34,retrans=2 0 0\n`);
    const sysrq = host.temp.file("sysrq");
    await writeFile(sysrq, "1\n");
    await host.writeProperties([
      `hb.mounts.file=${mounts}`,
      `hb.sysrq.file=${sysrq}`,
      `hb.pools=nfs:${pool};linstor:drbd`,
      "hb.host.ip=10.0.0.5",
      `hb.status.listen=${listen}`,
      `hb.drbd.drbdsetup=${drbd.path}`,
      "hb.drbd.node.name=kvm-a",
      "kvm.heartbeat.update.frequency=500",
      "kvm.heartbeat.update.retry.sleep=200",
      // -c: 10 s − (3 × 1 s + 0.2 s flush wait) − 1 s start-up = 5.8 s to verify, 1 s of it for hbd's answer.
      "heartbeat.update.timeout=10000",
    ]);
    // Room for hbd's answer on a loaded machine: the fakes' 300 ms step becomes 1 s.
    await writeFile(host.properties, (await readFile(host.properties, "utf8")).replace("hb.fence.step.timeout=300", "hb.fence.step.timeout=1000"));
    hbd = spawn(process.execPath, [hbdBin, "--file", host.properties], { env: { ...process.env, PATH: host.path }, stdio: ["ignore", "pipe", "pipe"] });
    hbd.stdout?.on("data", (chunk: Buffer) => void (hbdLog += chunk));
    hbd.stderr?.on("data", (chunk: Buffer) => void (hbdLog += chunk));
    const until = Date.now() + 15_000;
    for (;;) {
      const current = await status().catch(() => null);
      if (current !== null && current.targets.length === 2 && current.targets.every((target) => target.armed && target.state === "healthy")) break;
      if (Date.now() > until || hbd.exitCode !== null) throw new Error(`hbd did not report both pools healthy: ${JSON.stringify(current)}\n${hbdLog}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 30_000);

  afterAll(async () => {
    if (hbd !== undefined && hbd.exitCode === null && hbd.signalCode === null) {
      hbd.kill("SIGCONT");
      hbd.kill("SIGKILL");
      await new Promise((resolve) => hbd?.once("close", resolve));
    }
    await fs?.unmount();
    await drbd?.remove();
    await host?.temp.remove();
  }, 30_000);

  it("kvmheartbeat -c for the NFS pool hbd watches: deferred to hbd, recorded, counted by hbd; no fence", async () => {
    expect(await runScript(host, nfsArgs())).toEqual({ code: 0, stdout: "", stderr: "" });
    const events = await newEvents();
    expect(events).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- kvmheartbeat\.sh -c: not fencing \(hard-reboot\), deferred to hbd: hbd's verdict: \S+ healthy \(last good heartbeat [\d.]+ s ago\); hbd owns the fence decision on this host\.$/)]);
    expect(await host.records()).toEqual([expect.objectContaining({ kind: "deferral", check: "hbd", source: "kvmheartbeat.sh", target: pool, action: "hard-reboot" })]);
    const { vetoes } = await status();
    expect(vetoes).toMatchObject({ total: 1, deferred: 1, byCheck: { hbd: 1, "drbd-quorum": 0, storage: 0 }, last: { source: "kvmheartbeat.sh", outcome: "deferred" } });
    const metrics = await (await fetch(`http://${listen}/metrics`)).text();
    expect(metrics).toMatch(/^hb_fence_vetoes_total\{reason="hbd"\} 1$/m);
  });

  it("kvmspheartbeat -c: deferred to hbd's LINSTOR target without running drbdsetup itself", async () => {
    const before = (await drbd.calls()).length;
    expect(await runScript(host, ["kvmspheartbeat", "-c"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await newEvents()).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- kvmspheartbeat\.sh -c: not fencing \(hard-reboot\), deferred to hbd: hbd's verdict: drbd healthy/)]);
    // hbd's own polling goes on; the -c process added no show call of its own.
    expect((await drbd.calls()).slice(before).filter((call) => call.startsWith("show"))).toEqual([]);
    expect((await status()).vetoes).toMatchObject({ total: 2, deferred: 2 });
  });

  it("hb fence last and hb doctor see the deferrals and the hbd-owned mode", async () => {
    const last = await runHb(["fence", "last", "--file", host.properties]);
    expect(last.code).toBe(1);
    expect(last.stdout).toMatch(/^No fence record in .*\n2 -c calls of the agent did not fence: 2 deferred to hbd\.\n {2}newest: \S+ kvmspheartbeat\.sh \(deferred\): hbd's verdict: drbd healthy/);
    const json = JSON.parse((await runHb(["fence", "last", "--json", "--file", host.properties])).stdout);
    expect(json).toMatchObject({ record: null, vetoes: { afterDecision: null, count: 2, deferred: 2, byCheck: { hbd: 2 }, newest: { kind: "deferral", source: "kvmspheartbeat.sh" } } });
    const shims = host.temp.file("scripts");
    await mkdir(shims);
    expect((await runHb(["shims", "install", "--dir", shims])).code).toBe(0);
    const doctor = await runHb(["doctor", "--file", host.properties, "--dir", shims]);
    expect(doctor.stdout).toMatch(/^mode: hbd-owned — hbd \S+ runs the loop; the agent's -c defers to it for the 2 pool\(s\) it watches/);
    expect(doctor.stdout).toContain(`hbd: answers on its control socket ${host.stateDir}/hbd.sock, healthy; pools: `);
    expect(doctor.stdout).toContain(`status endpoint: answers at ${listen} (read-only, for people and Prometheus: never a reason not to fence)`);
    expect(doctor.stdout).toContain("No problems.");
    expect(doctor.code).toBe(0);
  });

  it("with hbd stopped (SIGSTOP: it accepts connections, never answers), -c acts at the deadline and says so loudly", async () => {
    hbd?.kill("SIGSTOP");
    try {
      expect(await runScript(host, nfsArgs())).toEqual({ code: 0, stdout: "", stderr: "" });
    } finally {
      hbd?.kill("SIGCONT");
    }
    const events = await newEvents();
    expect(events[0]).toMatch(
      new RegExp(`^logger -t heartbeat -p user\\.crit -- kvmheartbeat\\.sh -c: hbd does not answer \\(${host.stateDir}/hbd\\.sock: no answer within 1000 ms \\(hbd stopped or hung\\)\\); hbd runs as pid ${hbd?.pid} .*\\): deciding here, as configured \\(hb\\.fence\\.verify=drbd-quorum, action hard-reboot\\)\\.$`),
    );
    expect(events.slice(1)).toEqual(REBOOT("kvmheartbeat.sh"));
    expect((await host.records()).at(-1)).toMatchObject({ kind: "decision", isFence: true, reason: expect.stringContaining("hbd does not answer") });
  });

  it("with hbd gone (stopped cleanly), -c acts as in the drop-in mode", async () => {
    hbd?.kill("SIGTERM");
    await new Promise((resolve) => (hbd?.exitCode !== null ? resolve(undefined) : hbd.once("close", resolve)));
    expect(hbd?.exitCode).toBe(0);
    expect(await runScript(host, nfsArgs())).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await newEvents()).toEqual(REBOOT("kvmheartbeat.sh"));
    expect((await host.records()).at(-1)).toMatchObject({ kind: "decision", reason: "the CloudStack agent ran kvmheartbeat.sh -c" });
  });
});
