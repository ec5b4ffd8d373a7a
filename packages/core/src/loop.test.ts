import { deriveTiming } from "@hb/config";
import { describe, expect, it } from "vitest";
import { HeartbeatLoop, SimulatedClock, type AttemptOutcome, type HeartbeatTarget, type LoopEvent } from "./index.js";
import { configOf, recordingFence } from "../test/loop-helpers.js";

const FAST = "heartbeat.update.timeout=1000\nkvm.heartbeat.update.frequency=2000\nkvm.heartbeat.update.max.tries=3\nkvm.heartbeat.update.retry.sleep=500\n";

/** A target answering by a schedule of the simulated clock. */
function scripted(id: string, clock: SimulatedClock, answer: (nowMs: number) => { afterMs: number; outcome: AttemptOutcome } | "hang"): HeartbeatTarget {
  return {
    id,
    attempt: () => {
      const plan = answer(clock.monoMs());
      if (plan === "hang") return new Promise(() => undefined);
      return new Promise((resolve) => clock.setTimer(plan.afterMs, () => resolve(plan.outcome)));
    },
  };
}

/** A target answering in 1 ms: each attempt's outcome by kind, the last kind repeating. */
function sequenced(clock: SimulatedClock, kinds: readonly ("ok" | "eio" | "emfile")[]) {
  let index = 0;
  return scripted("pool", clock, () => {
    const kind = kinds[Math.min(index++, kinds.length - 1)];
    const outcome: AttemptOutcome =
      kind === "ok" ? { ok: true } : kind === "eio" ? { ok: false, reason: "error", message: "EIO" } : { ok: false, reason: "inconclusive", message: "EMFILE: hb is out of descriptors" };
    return { afterMs: 1, outcome };
  });
}

const statesOf = (events: readonly LoopEvent[]) => events.flatMap((e) => (e.type === "state" ? [e.change.to] : []));

/** A target answering in 1 ms: ok, or EIO while `storage.failing` is set. */
function switchable(clock: SimulatedClock) {
  const storage = { failing: false };
  const target = scripted("pool", clock, () => ({ afterMs: 1, outcome: storage.failing ? { ok: false, reason: "error", message: "EIO" } : { ok: true } }));
  return { target, storage };
}

describe("HeartbeatLoop", () => {
  it("fails an attempt at its deadline, and a late completion never undoes it", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const events: LoopEvent[] = [];
    // Answers in 5 ms, then once (the attempt starting at 2005 ms) only after 1500 ms.
    const target = scripted("pool", clock, (now) => ({ afterMs: now >= 2000 && now < 2100 ? 1500 : 5, outcome: { ok: true } }));
    const { fence } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [target], fence, onEvent: (e) => events.push(e) });
    loop.start();
    await clock.runUntil(4000);
    const attempts = loop.status()[0]?.attempts ?? [];
    expect(attempts.map((a) => [a.startedAtMs, a.result, a.latencyMs])).toEqual([
      [0, "ok", 5],
      [2005, "timeout", 1000],
      [3505, "ok", 5],
    ]);
    expect(attempts[1]?.lateCompletionMs).toBe(1500);
    expect(events.filter((e) => e.type === "state").map((e) => e.type === "state" && e.change.to)).toEqual(["healthy", "failing", "healthy"]);
    await loop.stop();
  });

  it("counts an answer exactly at the deadline as in time", async () => {
    const config = configOf("heartbeat.update.timeout=100\nkvm.heartbeat.update.frequency=1000\nkvm.heartbeat.update.max.tries=1\n");
    const clock = new SimulatedClock();
    const target = scripted("pool", clock, () => ({ afterMs: 100, outcome: { ok: true } }));
    const { fence } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [target], fence });
    loop.start();
    await clock.runUntil(3_000);
    expect(loop.status()[0]?.attempts.map((a) => a.result)).toEqual(["ok", "ok", "ok"]);
    await loop.stop();
  });

  it("suspends fencing for a bounded time while heartbeats continue, then expires by itself", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const { target, storage } = switchable(clock);
    const { fence, decisions } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [target], fence });
    loop.start();
    await clock.runUntil(10);
    loop.suspendFencing(5_000, "firmware update");
    storage.failing = true;
    await clock.runUntil(4_000);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ isFence: false, mode: "suppressed", suppressedBy: expect.stringMatching(/maintenance .*firmware update/) });
    // The TTL passes; the target recovers and fails again: this time it fences.
    storage.failing = false;
    await clock.runUntil(8_000);
    expect(loop.maintenanceUntil()).toBeUndefined();
    storage.failing = true;
    await clock.runUntil(14_000);
    expect(decisions.map((d) => [d.mode, d.isFence])).toEqual([
      ["suppressed", false],
      ["act", true],
    ]);
    await loop.stop();
  });

  it("records a dry run: the decision is made and handed over, marked dry-run, not a fence", async () => {
    const config = configOf(`${FAST}hb.fence.dry.run=true\n`);
    const clock = new SimulatedClock();
    const { target, storage } = switchable(clock);
    const { fence, decisions } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [target], fence });
    loop.start();
    await clock.runUntil(10);
    storage.failing = true;
    await clock.runUntil(6_000);
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ mode: "dry-run", dryRun: true, isFence: false, action: "hard-reboot", target: "pool" });
    expect(decisions[0]?.arithmetic).toMatch(/decision at most 6 s after it, here after/);
    expect(decisions[0]?.lastAttempts.map((a) => a.result)).toEqual(["ok", "error", "error", "error"]);
    expect(decisions[0]?.history.map((h) => h.to)).toEqual(["healthy", "failing", "dead"]);
    await loop.stop();
  });

  it("takes new settings and a new action on reconfigure, keeping each target's state and history", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const { target, storage } = switchable(clock);
    const { fence } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [target], fence });
    loop.start();
    await clock.runUntil(10);
    const logOnly = configOf(`${FAST}kvm.heartbeat.fence.action=log-only\n`);
    const after = recordingFence(logOnly);
    loop.reconfigure(logOnly, after.fence);
    expect(loop.status()[0]).toMatchObject({ state: "healthy", armed: true });
    storage.failing = true;
    await clock.runUntil(10_000);
    expect(after.decisions).toHaveLength(1);
    expect(after.decisions[0]).toMatchObject({ action: "log-only", isFence: false, mode: "act" });
    expect(after.decisions[0]?.history.map((h) => h.to)).toEqual(["healthy", "failing", "dead"]);
    await loop.stop();
  });

  it("starts a target's first round after the delay it is added with", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const starts = new Map<string, number>();
    const loop = new HeartbeatLoop({ config, clock, targets: [], fence: recordingFence(config).fence });
    ["a", "b", "c"].forEach((id, index) =>
      loop.addTarget(scripted(id, clock, (now) => (starts.has(id) || starts.set(id, now), { afterMs: 1, outcome: { ok: true } })), index * 700),
    );
    await clock.runUntil(3_000);
    await loop.stop();
    expect([...starts.values()]).toEqual([0, 700, 1400]);
  });

  it("stops a removed target's schedule; the others go on", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const a = scripted("a", clock, () => ({ afterMs: 1, outcome: { ok: true } }));
    const b = scripted("b", clock, () => "hang");
    const { fence } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [a, b], fence });
    loop.start();
    await clock.runUntil(100);
    await loop.removeTarget("b");
    await clock.runUntil(10_000);
    expect(loop.status().map((s) => [s.id, s.state])).toEqual([["a", "healthy"]]);
    await loop.stop();
  });

  it("does not count an inconclusive attempt (hb's own fault) as a failed try: it retries under the same try number", async () => {
    const config = configOf(FAST); // 3 tries
    const clock = new SimulatedClock();
    const events: LoopEvent[] = [];
    const { fence, decisions } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [sequenced(clock, ["ok", "eio", "emfile", "emfile", "eio", "ok"])], fence, onEvent: (e) => events.push(e) });
    loop.start();
    await clock.runUntil(5_500);
    const attempts = loop.status()[0]?.attempts ?? [];
    await loop.stop();
    expect(decisions).toEqual([]);
    expect(attempts.map((a) => [a.result, a.try])).toEqual([
      ["ok", 1],
      ["error", 1],
      ["inconclusive", 2],
      ["inconclusive", 2],
      ["error", 2],
      ["ok", 3],
    ]);
    expect(statesOf(events)).toEqual(["healthy", "failing", "inconclusive", "failing", "healthy"]);
    const inconclusive = events.find((e) => e.type === "state" && e.change.to === "inconclusive");
    expect(inconclusive?.type === "state" && inconclusive.change.reason).toBe("EMFILE: hb is out of descriptors");
  });

  it("fences as configured, saying it is hb's own fault, when hb cannot check for the whole decision bound", async () => {
    const config = configOf(FAST);
    const bound = deriveTiming(config).decisionLatestMs; // 2 s + 3 × 1 s + 2 × 0.5 s = 6 s
    const clock = new SimulatedClock();
    const events: LoopEvent[] = [];
    const { fence, decisions } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [sequenced(clock, ["ok", "emfile"])], fence, onEvent: (e) => events.push(e) });
    loop.start();
    await clock.runUntil(30_000);
    const attempts = loop.status()[0]?.attempts ?? [];
    await loop.stop();
    // One decision, when the blind time since the last good heartbeat (at 1 ms) reaches the bound:
    // the last pause is shortened so that the attempt ending it starts at the bound.
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ atMs: 1 + bound + 1, isFence: true, mode: "act", ownFault: true, reason: expect.stringMatching(/^hb's own fault, not the storage's: hb could not check for 6.001 s .*EMFILE/) });
    expect(decisions[0]?.arithmetic).toMatch(/could not check for its own reasons .* for the whole decision bound of 6 s .*here after 6.001 s/);
    expect(statesOf(events)).toEqual(["healthy", "inconclusive", "dead"]);
    // Attempts go on (the next round's too), and are never counted as tries.
    expect(attempts.length).toBeGreaterThan(8);
    expect(attempts.filter((a) => a.result === "inconclusive").every((a) => a.try === 1)).toBe(true);
  });

  it("lets own faults postpone a fence for hung storage by at most one attempt past the bound, and never bring it earlier", async () => {
    const config = configOf(FAST);
    const bound = deriveTiming(config).decisionLatestMs;
    const clock = new SimulatedClock();
    const events: LoopEvent[] = [];
    const { fence, decisions } = recordingFence(config);
    // Good until 1 ms; then hb's own fault until just before the bound; then the storage hangs.
    const emfile: AttemptOutcome = { ok: false, reason: "inconclusive", message: "EMFILE" };
    const target = scripted("pool", clock, (now) => (now < 1 ? { afterMs: 1, outcome: { ok: true } } : now < bound - 500 ? { afterMs: 1, outcome: emfile } : "hang"));
    const loop = new HeartbeatLoop({ config, clock, targets: [target], fence, onEvent: (e) => events.push(e) });
    loop.start();
    await clock.runUntil(30_000);
    await loop.stop();
    // Counting tries alone would decide only after three more timeouts (at 10.001 s).
    expect(decisions).toHaveLength(1);
    expect(decisions[0]).toMatchObject({ atMs: 1 + bound + config["heartbeat.update.timeout"], isFence: true, ownFault: true, reason: expect.stringMatching(/^hb's own fault, not only the storage's: no good heartbeat for 7 s/) });
    expect(statesOf(events)).toEqual(["healthy", "inconclusive", "dead"]);
  });

  it("never fences an unarmed target that hb cannot check (start-up grace), and a success returns it to the normal states", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const events: LoopEvent[] = [];
    const { fence, decisions } = recordingFence(config);
    const emfile: AttemptOutcome = { ok: false, reason: "inconclusive", message: "EMFILE" };
    const loop = new HeartbeatLoop({ config, clock, targets: [scripted("pool", clock, (now) => ({ afterMs: 1, outcome: now < 40_000 ? emfile : { ok: true } }))], fence, onEvent: (e) => events.push(e) });
    loop.start();
    await clock.runUntil(45_000);
    await loop.stop();
    expect(decisions).toEqual([]);
    expect(events.filter((e) => e.type === "withheld")).toEqual([]);
    expect(statesOf(events)).toEqual(["inconclusive", "healthy"]);
  });

  it("counts an inconclusive attempt as a failed try under upstream's policy, which knows no own faults", async () => {
    const config = configOf(FAST);
    const clock = new SimulatedClock();
    const { fence, decisions } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock, targets: [sequenced(clock, ["ok", "emfile"])], fence, policy: "upstream" });
    loop.start();
    await clock.runUntil(5_000);
    await loop.stop();
    expect(decisions).toHaveLength(1);
    expect(decisions[0]?.ownFault).toBeUndefined();
  });
});
