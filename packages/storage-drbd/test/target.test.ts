import { spawnSync } from "node:child_process";
import { parseProperties, resolveConfig, type HeartbeatConfig } from "@hb/config";
import { HeartbeatLoop, ProcessExecutor, SystemClock, type AttemptContext, type FenceDecision, type LoopEvent } from "@hb/core";
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { DrbdHeartbeatTarget, EVENTS2_ARGS, readHostHealth } from "../src/index.js";
import { makeFakeDrbdsetup, processExists, type FakeDrbdsetup } from "@hb/testkit";

const executor = new ProcessExecutor();
let fake: FakeDrbdsetup;
const live: FakeDrbdsetup[] = [];

beforeEach(async () => {
  fake = await makeFakeDrbdsetup();
  live.push(fake);
});
afterEach(async () => {
  for (const command of ["events2", "status", "show"] as const) {
    const pid = await fake.pidOf(command);
    if (pid !== undefined && processExists(pid)) process.kill(pid, "SIGKILL");
  }
});
afterAll(async () => {
  for (const dir of live) await dir.remove();
});

function context(deadlineMs: number, seq = 1): AttemptContext {
  return { seq, deadlineMs, signal: new AbortController().signal };
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 25));
  if (!condition()) throw new Error(`never happened: ${what}`);
}

describe("DrbdHeartbeatTarget", () => {
  it("runs `drbdsetup events2 --now --statistics` and succeeds for a healthy host, with DRBD evidence", async () => {
    await fake.answer("events2", { fixture: "three-node-tiebreaker.events2.txt" });
    const target = new DrbdHeartbeatTarget({ id: "linstor-pool", executor, drbdsetup: fake.path, nodeName: "kvm-a" });
    const outcome = await target.attempt(context(5_000));
    expect(await fake.calls()).toEqual([EVENTS2_ARGS.join(" ")]);
    expect(outcome).toEqual({
      ok: true,
      evidence: {
        verdict: "healthy",
        source: "events2",
        resources: 1,
        primaries: 1,
        node: "kvm-a",
        "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41.verdict": "healthy",
        "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41.role": "Primary",
        "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41.may_promote": false,
        "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41.promotion_score": 10102,
      },
    });
    expect(target.id).toBe("linstor-pool");
  });

  it("succeeds during a resync, reporting it as an impairment (degraded, never a fence)", async () => {
    await fake.answer("events2", { fixture: "resync-sync-source.events2.txt" });
    const outcome = await new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path }).attempt(context(5_000));
    expect(outcome.ok).toBe(true);
    if (!outcome.ok) return;
    expect(outcome.impairment).toMatch(/^DRBD degraded: 2 resources, 1 Primary; cs-1f3a6c52-[^:]+: volume 0: resync to kvm-b, this host is the sync source, 37.52% done/);
    expect(outcome.evidence).toMatchObject({ "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41.replication/0@kvm-b": "SyncSource" });
  });

  it("fails with no-quorum when a Primary lost quorum, and with error when it has no data", async () => {
    await fake.answer("events2", { fixture: "quorum-lost-suspend-io.events2.txt" });
    const target = new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path });
    expect(await target.attempt(context(5_000))).toMatchObject({ ok: false, reason: "no-quorum", message: expect.stringMatching(/^DRBD lost: .*no quorum while Primary/) });
    await fake.answer("events2", { fixture: "primary-no-data.events2.txt" });
    expect(await target.attempt(context(5_000))).toMatchObject({ ok: false, reason: "error", message: expect.stringContaining("no data accessible") });
  });

  it("fails the attempt at its deadline when drbdsetup hangs, and kills it", async () => {
    await fake.answer("events2", { hang: true });
    const outcome = await new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path }).attempt(context(300));
    expect(outcome).toEqual({ ok: false, reason: "error", message: `${fake.path} events2 --now --statistics: no answer within 300 ms (killed)`, evidence: { error: "DRBD_COMMAND" } });
    const pid = await fake.pidOf("events2");
    expect(pid).toBeDefined();
    await until(() => !processExists(pid ?? 0), "the hung drbdsetup is gone");
  });

  it("fails the attempt when drbdsetup exits non-zero, with its exit code and last error line", async () => {
    await fake.answer("events2", { exit: 20, stderr: "sh: 1: /sbin/modprobe: not found\nFailed to modprobe drbd (No such file or directory)\n" });
    const outcome = await new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path }).attempt(context(5_000));
    expect(outcome).toEqual({
      ok: false,
      reason: "error",
      message: `${fake.path} events2 --now --statistics: exit code 20 (DRBD not available: is the drbd kernel module loaded?): Failed to modprobe drbd (No such file or directory)`,
      evidence: { error: "DRBD_COMMAND" },
    });
  });

  it("fails the attempt, never guesses, when the output cannot be read", async () => {
    await fake.answer("events2", { stdout: "exists resource name:r0 role:Primary suspended:no\n" });
    expect(await new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path }).attempt(context(5_000))).toEqual({
      ok: false,
      reason: "error",
      message: "drbdsetup events2 --now: no `exists -` line: the state dump is incomplete",
      evidence: { error: "DRBD_OUTPUT" },
    });
  });

  // Before the cap, hb read such output until V8 threw an uncaught RangeError (Invalid string
  // length) and hbd died; now each attempt fails, named, and the loop carries on.
  it("fails the attempt, naming drbdsetup, when it floods stdout: killed at the output cap, again and again", async () => {
    await fake.answer("events2", { flood: "stdout" });
    const target = new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path });
    for (let seq = 1; seq <= 2; seq++) {
      expect(await target.attempt(context(60_000, seq))).toEqual({
        ok: false,
        reason: "error",
        message: `${fake.path} events2 --now --statistics: printed more than 16777216 bytes on stdout (killed): not drbdsetup's answer`,
        evidence: { error: "DRBD_COMMAND" },
      });
    }
  });

  it("fails the attempt when drbdsetup is not installed", async () => {
    const outcome = await new DrbdHeartbeatTarget({ executor, drbdsetup: fake.dir.file("missing/drbdsetup") }).attempt(context(5_000));
    expect(outcome).toMatchObject({ ok: false, reason: "error", message: expect.stringContaining("could not be started (not found on PATH, or not executable)") });
  });

  const realDrbdsetup = spawnSync("sh", ["-c", "command -v drbdsetup"], { encoding: "utf8" }).stdout.trim();
  it.skipIf(realDrbdsetup === "")("with the real drbdsetup and no DRBD kernel module: a failed attempt that says so", async (test) => {
    const probe = spawnSync(realDrbdsetup, ["events2", "--now"], { encoding: "utf8", timeout: 10_000 });
    if (probe.status === 0) test.skip("DRBD is loaded on this machine: this test needs a host without it");
    const outcome = await new DrbdHeartbeatTarget({ executor, drbdsetup: "drbdsetup" }).attempt(context(10_000));
    expect(outcome).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/^drbdsetup events2 --now --statistics: exit code 20 \(DRBD not available/) });
  });
  if (realDrbdsetup === "") console.log("skipped the real-drbdsetup test: drbdsetup (drbd-utils) is not installed");
});

describe("the DRBD target in the heartbeat loop (real clock, real child processes)", () => {
  const configOf = (text: string): HeartbeatConfig => resolveConfig(parseProperties(text)).values;

  it("stays degraded through a resync and congestion, and fences only after every try of a round hung", async () => {
    // hb.slow.threshold=1: a loaded test machine must not turn a late answer into `slow` here.
    const config = configOf("heartbeat.update.timeout=400\nkvm.heartbeat.update.frequency=50\nkvm.heartbeat.update.max.tries=2\nkvm.heartbeat.update.retry.sleep=50\nhb.slow.threshold=1\n");
    const decisions: FenceDecision[] = [];
    const events: LoopEvent[] = [];
    const fence = { name: config["kvm.heartbeat.fence.action"], execute: async (decision: FenceDecision) => (decisions.push(decision), { action: decision.action, outcome: "recorded", acted: false }) };
    const target = new DrbdHeartbeatTarget({ id: "drbd", executor, drbdsetup: fake.path });
    const loop = new HeartbeatLoop({ config, clock: new SystemClock(), targets: [target], fence, onEvent: (event) => events.push(event) });
    const states = () => events.flatMap((event) => (event.type === "state" ? [event.change.to] : []));
    const attempts = () => events.filter((event) => event.type === "attempt").length;

    await fake.answer("events2", { fixture: "two-node-healthy.events2.txt" });
    loop.start();
    await until(() => states().includes("healthy"), "healthy");
    await fake.answer("events2", { fixture: "resync-sync-target.events2.txt" });
    await until(() => states().includes("degraded"), "degraded during the resync");
    await fake.answer("events2", { fixture: "congested.events2.txt" });
    const seen = attempts();
    await until(() => attempts() >= seen + 3, "three attempts while congested");
    expect(decisions).toEqual([]);
    expect(loop.status()[0]?.state).toBe("degraded");

    await fake.answer("events2", { hang: true });
    await until(() => decisions.length > 0, "a decision after the hung round");
    await loop.stop();
    expect(states()).toEqual(["healthy", "degraded", "failing", "dead"]);
    expect(decisions[0]).toMatchObject({ target: "drbd", isFence: true });
    // The loop's deadline and drbdsetup's are the same: whichever fires first, the try failed for want of an answer.
    for (const attempt of decisions[0]?.lastAttempts.slice(-2) ?? []) {
      expect(["timeout", "error"]).toContain(attempt.result);
      expect(attempt.message).toMatch(/no answer within 400 ms/);
    }
  }, 20_000);

  it("spends the budget as no-quorum when a Primary lost quorum", async () => {
    const config = configOf("heartbeat.update.timeout=2000\nkvm.heartbeat.update.frequency=50\nkvm.heartbeat.update.max.tries=2\nkvm.heartbeat.update.retry.sleep=50\nhb.slow.threshold=1\n");
    const decisions: FenceDecision[] = [];
    const events: LoopEvent[] = [];
    const fence = { name: config["kvm.heartbeat.fence.action"], execute: async (decision: FenceDecision) => (decisions.push(decision), { action: decision.action, outcome: "recorded", acted: false }) };
    const loop = new HeartbeatLoop({ config, clock: new SystemClock(), targets: [new DrbdHeartbeatTarget({ executor, drbdsetup: fake.path })], fence, onEvent: (event) => events.push(event) });
    await fake.answer("events2", { fixture: "secondary-only.events2.txt" });
    loop.start();
    await until(() => events.some((event) => event.type === "state" && event.change.to === "healthy"), "healthy");
    await fake.answer("events2", { fixture: "quorum-lost-io-error.events2.txt" });
    await until(() => decisions.length > 0, "a decision");
    await loop.stop();
    expect(events.flatMap((event) => (event.type === "state" ? [event.change.to] : []))).toEqual(["healthy", "no-quorum", "dead"]);
    expect(decisions[0]?.reason).toMatch(/no quorum: DRBD lost: .*no quorum while Primary/);
  }, 20_000);
});

describe("readHostHealth", () => {
  it("throws DrbdCommandError (failure overflow) when drbdsetup floods stderr past maxOutputBytes", async () => {
    await fake.answer("events2", { flood: "stderr" });
    await expect(readHostHealth({ executor, drbdsetup: fake.path, deadlineMs: 60_000, maxOutputBytes: 65_536 })).rejects.toMatchObject({
      code: "DRBD_COMMAND",
      failure: "overflow",
      message: `${fake.path} events2 --now --statistics: printed more than 65536 bytes on stderr (killed): not drbdsetup's answer`,
    });
  });

  it("abandons and kills drbdsetup when the caller aborts, long before its own deadline", async () => {
    await fake.answer("events2", { hang: true });
    const controller = new AbortController();
    const pending = readHostHealth({ executor, drbdsetup: fake.path, deadlineMs: 60_000, signal: controller.signal });
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      pid = await fake.pidOf("events2");
    }
    expect(pid).toBeDefined();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: "DRBD_COMMAND", failure: "timeout", message: `${fake.path} events2 --now --statistics: stopped before it answered` });
    await until(() => !processExists(pid ?? 0), "the abandoned drbdsetup is gone");
  });
});
