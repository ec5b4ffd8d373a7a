// `hb compat kvmspheartbeat -c` as the agent runs it (a real process, killed at
// heartbeat.update.timeout), with hb.fence.verify=drbd-quorum against a fake drbdsetup replaying
// real-format fixtures: a veto exactly where DRBD's quorum holds, the fence (sysrq b in the test's
// trigger file) where it is lost, and the configured action when drbdsetup hangs or fails.
import { describe, expect, it, type TestContext } from "vitest";
import { runCompatKilledAt } from "./agent-run.js";
import { drbdShowJson, type DrbdShowVariant, type FakeDrbdsetup, type FenceHost, freePort, makeFakeDrbdsetup, processExists, roomyFenceHost } from "@hb/testkit";

const R1 = "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41";
const R2 = "cs-7b9e0d14-3a2f-4e6b-8c1d-5f4a2e9b7c30";

interface Setup {
  readonly host: FenceHost;
  readonly drbd: FakeDrbdsetup;
}

/** A host with the fence fakes and a fake drbdsetup, removed when the test ends (tests run concurrently). */
async function setup(context: TestContext, lines: readonly string[] = []): Promise<Setup> {
  const host = await roomyFenceHost();
  const drbd = await makeFakeDrbdsetup();
  context.onTestFinished(async () => {
    for (const command of ["events2", "show"] as const) {
      const pid = await drbd.pidOf(command);
      if (pid !== undefined && processExists(pid)) process.kill(pid, "SIGKILL");
    }
    await drbd.remove();
    await host.temp.remove();
  });
  await host.writeProperties([`hb.drbd.drbdsetup=${drbd.path}`, `hb.status.listen=127.0.0.1:${await freePort()}`, ...lines]);
  return { host, drbd };
}

/** As the agent runs it, killed at agentTimeoutMs. */
const runScript = (host: FenceHost, agentTimeoutMs = 60_000) => runCompatKilledAt(host, ["kvmspheartbeat", "-c"], agentTimeoutMs);

const REBOOT = ["logger -t heartbeat -- kvmspheartbeat.sh will reboot system because it was unable to write the heartbeat to the storage.", "s", "sync", "b"];

async function answerWith(drbd: FakeDrbdsetup, fixture: string, resources: readonly string[], variant: DrbdShowVariant = {}): Promise<void> {
  await drbd.answer("events2", { fixture: `${fixture}.events2.txt` });
  await drbd.answer("show", { stdout: drbdShowJson(resources, variant) });
}

describe("hb compat kvmspheartbeat -c with hb.fence.verify=drbd-quorum (the default)", () => {
  // [fixture, the resources configured, show variant, veto?, what the record or syslog says]
  const table: [string, readonly string[], DrbdShowVariant, boolean, string][] = [
    ["resync-sync-source", [R1, R2], {}, true, "DRBD quorum holds on all 1 Primary resource(s)"],
    ["resync-sync-target", [R1], {}, true, "local disk Inconsistent, data served by UpToDate peer kvm-b"],
    ["congested", [R1, R2], {}, true, "DRBD quorum holds on all 2 Primary resource(s)"],
    ["three-node-tiebreaker", [R1], {}, true, "quorum majority, on-no-quorum suspend-io"],
    ["diskless-client", [R1, R2], {}, true, "diskless client, data through kvm-b, kvm-c"],
    ["peer-connecting", [R1], {}, true, "DRBD quorum holds"],
    ["peer-standalone", [R1], {}, true, "DRBD quorum holds"],
    ["primary-detached", [R1], {}, true, "local disk detached (Diskless), data served by UpToDate peer kvm-b"],
    ["secondary-quorum-lost", [R1, R2], {}, true, "DRBD quorum holds on all 1 Primary resource(s)"],
    ["quorum-lost-suspend-io", [R1], {}, false, "hb's DRBD check (lost): DRBD does not vouch for 1 of 1 Primary resource(s)"],
    ["quorum-lost-io-error", [R1], {}, false, "no quorum while Primary"],
    ["older-utils-quorum-lost", [R1], {}, false, "no quorum while Primary"],
    ["primary-no-data", [R1], {}, false, "no data accessible"],
    ["oldest-utils-resync", [R1], {}, false, "DRBD does not report quorum for it"],
    ["secondary-only", [R1, R2], {}, false, "this host is Primary of none of its 2 DRBD resources"],
    ["no-resources", [], {}, false, "no DRBD resources on this host"],
    ["two-node-healthy", [R1, R2], { quorumOff: [R1, R2] }, false, "quorum off: DRBD does not stop a writer that lost its peers"],
    ["three-node-tiebreaker", [R1], { twoPrimaries: [R1] }, false, "allow-two-primaries with kvm-b (a live migration)"],
  ];

  for (const [fixture, resources, variant, veto, says] of table) {
    const label = `${fixture}${variant.quorumOff ? " (quorum off)" : ""}${variant.twoPrimaries ? " (allow-two-primaries)" : ""}`;
    it.concurrent(`${label}: ${veto ? "vetoed, recorded, exit 0" : "fenced"}`, async (context) => {
      const { host, drbd } = await setup(context);
      await answerWith(drbd, fixture, resources, variant);
      const script = await runScript(host);
      expect(script).toEqual({ code: 0, stdout: "", stderr: "", killed: false });
      const events = await host.eventNames();
      const records = await host.records();
      if (veto) {
        expect(events).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- kvmspheartbeat\.sh -c: not fencing \(hard-reboot\), vetoed by hb\.fence\.verify=drbd-quorum: /)]);
        expect(events[0]).toContain(says);
        expect(records).toEqual([
          expect.objectContaining({ kind: "veto", check: "drbd-quorum", source: "kvmspheartbeat.sh", action: "hard-reboot", detail: expect.stringContaining(says) }),
        ]);
        const evidence = records[0]?.evidence as { drbd: { veto: boolean; primaries: { ok: boolean }[] } };
        expect(evidence.drbd.veto).toBe(true);
        expect(evidence.drbd.primaries.every((primary) => primary.ok)).toBe(true);
      } else {
        expect(events).toEqual(REBOOT);
        expect(records).toEqual([expect.objectContaining({ kind: "decision", action: "hard-reboot", isFence: true, reason: expect.stringContaining(says) })]);
      }
      expect((await drbd.calls()).sort()).toEqual(["events2 --now --statistics", "show --show-defaults --json"]);
    });
  }
});

describe("when DRBD gives no verdict", () => {
  it("fences once events2 hangs past hb.fence.verify.timeout, kills the hung drbdsetup, and says why loudly", async (context) => {
    const { host, drbd } = await setup(context, ["hb.fence.verify.timeout=1200"]);
    await drbd.answer("events2", { hang: true });
    await drbd.answer("show", { stdout: drbdShowJson([R1]) });
    const script = await runScript(host);
    expect(script).toEqual({ code: 0, stdout: "", stderr: "", killed: false });
    const events = await host.eventNames();
    expect(events[0]).toMatch(/^logger -t heartbeat -p user\.crit -- kvmspheartbeat\.sh -c: hb\.fence\.verify=drbd-quorum: no DRBD verdict within 1200 ms \(.*drbdsetup events2 --now --statistics: no answer within \d+ ms \(killed\)\): acting as configured\.$/);
    expect(events.slice(1)).toEqual(REBOOT);
    expect((await host.records())[0]).toMatchObject({ kind: "decision", isFence: true, reason: expect.stringContaining("no DRBD verdict within 1200 ms") });
    const pid = await drbd.pidOf("events2");
    expect(pid).toBeDefined();
    expect(processExists(pid ?? 0)).toBe(false);
  });

  it("fences when drbdsetup show hangs: allow-two-primaries cannot be ruled out", async (context) => {
    const { host, drbd } = await setup(context, ["hb.fence.verify.timeout=1200"]);
    await drbd.answer("events2", { fixture: "resync-sync-source.events2.txt" });
    await drbd.answer("show", { hang: true });
    expect((await runScript(host)).code).toBe(0);
    expect((await host.eventNames()).slice(1)).toEqual(REBOOT);
    expect((await host.records())[0]?.reason).toMatch(/no DRBD verdict within 1200 ms: .*show --show-defaults --json: no answer within \d+ ms \(killed\): quorum settings and allow-two-primaries unknown/);
  });

  it("fences when drbdsetup fails, naming its exit code and message", async (context) => {
    const { host, drbd } = await setup(context);
    await drbd.answer("events2", { exit: 10, stderr: "cs-1f3a6c52: State change failed: (-2) Need access to UpToDate data\n" });
    await drbd.answer("show", { stdout: drbdShowJson([R1]) });
    expect((await runScript(host)).code).toBe(0);
    expect((await host.eventNames()).slice(1)).toEqual(REBOOT);
    expect((await host.records())[0]?.reason).toMatch(/events2 --now --statistics: exit code 10: cs-1f3a6c52: State change failed/);
  });

  it("fences as upstream, with nothing added, where there is no DRBD (drbdsetup exits 20: no module, e.g. a StorPool host)", async (context) => {
    const { host, drbd } = await setup(context);
    await drbd.answer("events2", { exit: 20, stderr: "Failed to modprobe drbd (No such file or directory)\n" });
    await drbd.answer("show", { exit: 20 });
    expect((await runScript(host)).code).toBe(0);
    expect(await host.eventNames()).toEqual(REBOOT);
    expect((await host.records())[0]).toMatchObject({ reason: "the CloudStack agent ran kvmspheartbeat.sh -c" });
  });

  it("starts the action before the agent kills -c at heartbeat.update.timeout, on the derived deadline", async (context) => {
    // 8.6 s − (record, syslog, sysrq s: 3 × 2 s + 0.2 s flush wait) − 1 s start-up = 1.4 s to verify.
    const { host, drbd } = await setup(context, ["heartbeat.update.timeout=8600"]);
    await drbd.answer("events2", { hang: true });
    await drbd.answer("show", { hang: true });
    await runScript(host, 8600);
    // Whether or not the agent got the answer in time, the detached fence went through.
    expect((await host.waitForEvent((line) => line === "b")).slice(-3)).toEqual(["s", "sync", "b"]);
    expect((await host.records())[0]?.reason).toContain("no DRBD verdict within 1400 ms");
  });
});

describe("hb.fence.verify=none", () => {
  it("acts as told, without asking DRBD", async (context) => {
    const { host, drbd } = await setup(context, ["hb.fence.verify=none"]);
    await answerWith(drbd, "resync-sync-source", [R1, R2]);
    expect((await runScript(host)).code).toBe(0);
    expect(await host.eventNames()).toEqual(REBOOT);
    expect(await drbd.calls()).toEqual([]);
  });
});
