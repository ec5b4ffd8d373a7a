import { deriveTiming, resolveConfig, parseProperties, FENCE_ACTIONS, type HeartbeatConfig } from "@hb/config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { HeartbeatLoop, SimulatedClock, simulate, type FenceDecision, type LoopEvent, type Scenario } from "./index.js";

// Small, varied configurations keep each simulated run short while covering the arithmetic.
const configArb = fc.record({
  timeout: fc.integer({ min: 100, max: 5000 }),
  frequency: fc.integer({ min: 1000, max: 10000 }),
  tries: fc.integer({ min: 1, max: 5 }),
  retrySleep: fc.integer({ min: 0, max: 3000 }),
});
type ConfigShape = { timeout: number; frequency: number; tries: number; retrySleep: number };

const properties = (c: ConfigShape, extra: Record<string, string> = {}) => ({
  "heartbeat.update.timeout": String(c.timeout),
  "kvm.heartbeat.update.frequency": String(c.frequency),
  "kvm.heartbeat.update.max.tries": String(c.tries),
  "kvm.heartbeat.update.retry.sleep": String(c.retrySleep),
  ...extra,
});
const configOf = (props: Record<string, string>): HeartbeatConfig =>
  resolveConfig(parseProperties(Object.entries(props).map(([k, v]) => `${k}=${v}`).join("\n"))).values;

const attemptsOf = (log: readonly LoopEvent[], target: string) =>
  log.flatMap((event) => (event.type === "attempt" && event.target === target ? [event.record] : []));

describe("the loop, for any configuration", () => {
  it("never fences a storage that always answers within the timeout, however slow", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 6 }), async (c, fractions) => {
        const phases = fractions.map((fraction, index) => ({ fromMs: index * 7_000, latencyMs: Math.floor(fraction * c.timeout) }));
        const result = await simulate({ durationMs: 60_000, properties: properties(c), targets: { pool: phases } });
        expect(result.decisions).toEqual([]);
        expect(result.events.map((event) => event.to)).not.toContain("dead");
        expect(result.events.map((event) => event.to)).not.toContain("failing");
      }),
      { numRuns: 60 },
    );
  });

  it("fences a hang starting at any time exactly when the timing model says, to the millisecond", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 40_000 }), async (c, latencyMs, hangFromMs) => {
        const props = properties(c);
        const model = deriveTiming(configOf(props));
        const scenario: Scenario = {
          durationMs: hangFromMs + model.decisionLatestMs + c.frequency + c.timeout + 1,
          properties: props,
          targets: { pool: [{ fromMs: 0, latencyMs }, { fromMs: hangFromMs, hang: true }] },
        };
        const result = await simulate(scenario);
        const lastGood = attemptsOf(result.log, "pool")
          .filter((attempt) => attempt.result === "ok")
          .map((attempt) => attempt.startedAtMs + attempt.latencyMs)
          .at(-1);
        expect(lastGood).toBeDefined();
        expect(result.decisions).toHaveLength(1);
        expect(result.decisions[0]?.atMs).toBe((lastGood ?? 0) + model.decisionLatestMs);
        expect(result.decisions[0]?.isFence).toBe(true);
      }),
      { numRuns: 80 },
    );
  });

  it("fences an own fault (hb cannot check) that lasts from any time on exactly at the decision bound, to the millisecond", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.integer({ min: 0, max: 50 }), fc.integer({ min: 1, max: 40_000 }), async (c, latencyMs, faultFromMs) => {
        const props = properties(c);
        const model = deriveTiming(configOf(props));
        const scenario: Scenario = {
          durationMs: faultFromMs + model.decisionLatestMs + c.frequency + c.timeout + 1,
          properties: props,
          targets: { pool: [{ fromMs: 0, latencyMs }, { fromMs: faultFromMs, inconclusive: "EMFILE" }] },
        };
        const result = await simulate(scenario);
        const lastGood = attemptsOf(result.log, "pool")
          .filter((attempt) => attempt.result === "ok")
          .map((attempt) => attempt.startedAtMs + attempt.latencyMs)
          .at(-1);
        expect(result.decisions).toHaveLength(1);
        expect(result.decisions[0]?.atMs).toBe((lastGood ?? 0) + model.decisionLatestMs);
        expect(result.decisions[0]).toMatchObject({ isFence: true, reason: expect.stringMatching(/^hb's own fault/) });
      }),
      { numRuns: 60 },
    );
  });

  it("never fences an own fault shorter than the decision bound less one pause between rounds, nor counts it as a failed try", async () => {
    await fc.assert(
      fc.asyncProperty(configArb, fc.integer({ min: 1, max: 40_000 }), fc.double({ min: 0, max: 1, noNaN: true }), async (c, faultFromMs, fraction) => {
        const props = properties(c);
        const model = deriveTiming(configOf(props));
        // Blind time stays under the bound: the last good heartbeat is less than one frequency before the fault.
        const lastsMs = Math.max(1, Math.floor(fraction * (model.decisionLatestMs - c.frequency)));
        const scenario: Scenario = {
          durationMs: faultFromMs + lastsMs + model.decisionLatestMs + c.frequency,
          properties: props,
          targets: { pool: [{ fromMs: 0, latencyMs: 1 }, { fromMs: faultFromMs, inconclusive: "EMFILE" }, { fromMs: faultFromMs + lastsMs, latencyMs: 1 }] },
        };
        const result = await simulate(scenario);
        expect(result.decisions).toEqual([]);
        expect(result.events.map((event) => event.to)).not.toContain("failing");
      }),
      { numRuns: 60 },
    );
  });

  it("a custom action is a fence exactly when hb.fence.custom.fences says so", async () => {
    for (const fences of ["true", "false"]) {
      const config = configOf(properties({ timeout: 1000, frequency: 2000, tries: 2, retrySleep: 500 }, { "kvm.heartbeat.fence.action": "custom", "hb.fence.custom.fences": fences }));
      const clock = new SimulatedClock();
      const executed: FenceDecision[] = [];
      const target = { id: "pool", attempt: () => Promise.resolve(clock.monoMs() < 3000 ? { ok: true as const } : { ok: false as const, reason: "error" as const, message: "EIO" }) };
      const fence = { name: config["kvm.heartbeat.fence.action"], execute: async (decision: FenceDecision) => (executed.push(decision), { action: decision.action, outcome: "ran", acted: true }) };
      const loop = new HeartbeatLoop({ config, clock, targets: [target], fence });
      loop.start();
      await clock.runUntil(3000 + deriveTiming(config).decisionLatestMs + 2001);
      await loop.stop();
      expect(executed.map((decision) => [decision.action, decision.isFence])).toEqual([["custom", fences === "true"]]);
    }
  });

  it("still invokes non-fencing actions, and a disabled reboot flag, with isFence false", async () => {
    const cases = fc.oneof(
      fc.record({ action: fc.constantFrom("restart-agent", "log-only"), rebootFlag: fc.constant("true") }),
      fc.record({ action: fc.constantFrom(...FENCE_ACTIONS), rebootFlag: fc.constant("false") }),
    );
    await fc.assert(
      fc.asyncProperty(configArb, cases, fc.integer({ min: 1, max: 20_000 }), async (c, { action, rebootFlag }, errorFromMs) => {
        const config = configOf(properties(c, { "kvm.heartbeat.fence.action": action, "reboot.host.and.alert.management.on.heartbeat.timeout": rebootFlag }));
        const clock = new SimulatedClock();
        const executed: FenceDecision[] = [];
        let calls = 0;
        const target = {
          id: "pool",
          attempt: () => (clock.monoMs() < errorFromMs ? Promise.resolve({ ok: true as const }) : Promise.resolve({ ok: false as const, reason: "error" as const, message: "EIO" })),
        };
        const fence = { name: config["kvm.heartbeat.fence.action"], execute: async (decision: FenceDecision) => (calls++, executed.push(decision), { action: decision.action, outcome: "recorded", acted: false }) };
        const loop = new HeartbeatLoop({ config, clock, targets: [target], fence });
        loop.start();
        await clock.runUntil(errorFromMs + deriveTiming(config).decisionLatestMs + c.frequency + 1);
        await loop.stop();
        expect(calls).toBe(1);
        expect(executed[0]?.isFence).toBe(false);
        expect(executed[0]?.mode).toBe(rebootFlag === "false" ? "suppressed" : "act");
      }),
      { numRuns: 60 },
    );
  });

  it("never shifts a healthy target's attempts, whatever another target does", async () => {
    const phaseArb = fc.oneof(
      fc.record({ latencyMs: fc.integer({ min: 0, max: 20_000 }) }),
      fc.constant({ hang: true as const }),
      fc.record({ error: fc.constant("EIO"), latencyMs: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ noQuorum: fc.constant(true as const), latencyMs: fc.integer({ min: 0, max: 100 }) }),
      fc.record({ inconclusive: fc.constant("EMFILE"), latencyMs: fc.integer({ min: 0, max: 100 }) }),
    );
    await fc.assert(
      fc.asyncProperty(configArb, fc.array(phaseArb, { minLength: 1, maxLength: 5 }), fc.integer({ min: 0, max: 100 }), async (c, otherPhases, latencyMs) => {
        const healthy = [{ fromMs: 0, latencyMs: Math.min(latencyMs, c.timeout) }];
        const other = otherPhases.map((phase, index) => ({ fromMs: index * 9_000, ...phase }));
        const alone = await simulate({ durationMs: 80_000, properties: properties(c), targets: { healthy } });
        const together = await simulate({ durationMs: 80_000, properties: properties(c), targets: { other, healthy } });
        expect(attemptsOf(together.log, "healthy").map((a) => a.startedAtMs)).toEqual(attemptsOf(alone.log, "healthy").map((a) => a.startedAtMs));
      }),
      { numRuns: 60 },
    );
  });
});
