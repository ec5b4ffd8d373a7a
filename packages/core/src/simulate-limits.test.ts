import { describe, expect, it } from "vitest";
import { formatSimulation, parseScenario, SIMULATION_LIMITS, simulate } from "./index.js";

const YEAR_MS = 365 * 24 * 3600 * 1000;

describe("simulate's limits", () => {
  it("refuses a duration past maxDurationMs before running anything (a 10-year scenario ran without bound)", async () => {
    const tenYears = parseScenario({ durationMs: 10 * YEAR_MS, targets: { pool: [{ fromMs: 0, latencyMs: 5 }] } });
    await expect(simulate(tenYears)).rejects.toMatchObject({
      code: "SIMULATION_LIMIT",
      limit: "maxDurationMs",
      message: `durationMs ${10 * YEAR_MS} is past hb simulate's limit of 604800000 ms (7 days): simulate a shorter time`,
    });
    expect(SIMULATION_LIMITS).toEqual({ maxDurationMs: 604_800_000, maxEvents: 100_000 });
  });

  it("stops a 1 ms frequency at maxEvents with a named error, where it used to run for minutes and GBs", async () => {
    const busy = parseScenario({ durationMs: 3_600_000, properties: { "kvm.heartbeat.update.frequency": "1" }, targets: { pool: [{ fromMs: 0, latencyMs: 0 }] } });
    const error = await simulate(busy).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "SIMULATION_LIMIT", limit: "maxEvents" });
    expect((error as Error).message).toMatch(/^stopped at [\d.]+ s of the 3600 s simulated: more than hb simulate's limit of 100000 events/);
  });

  it("takes other limits from the caller", async () => {
    const scenario = parseScenario({ durationMs: 3_600_000, targets: { a: [{ fromMs: 0, latencyMs: 1 }], b: [{ fromMs: 0, latencyMs: 1 }, { fromMs: 100_000, hang: true }] } });
    await expect(simulate(scenario, "", "hb", { maxDurationMs: 3_600_000, maxEvents: 50 })).rejects.toMatchObject({ limit: "maxEvents" });
    await expect(simulate(scenario, "", "hb", { maxDurationMs: 60_000, maxEvents: 50 })).rejects.toMatchObject({ limit: "maxDurationMs" });
    expect((await simulate(scenario, "", "hb", { maxDurationMs: 3_600_000, maxEvents: 1_000 })).decisions).toHaveLength(1);
  });
});

describe("scenario target names", () => {
  it("handles __proto__, constructor and toString like any other name (a __proto__ target was silently dropped)", async () => {
    const scenario = parseScenario(
      JSON.parse('{"durationMs": 100, "properties": {"__proto__": "x"}, "targets": {"__proto__": [{"fromMs": 0, "latencyMs": 1}], "constructor": [{"fromMs": 0, "latencyMs": 2}], "toString": [{"fromMs": 0, "latencyMs": 3}]}}'),
    );
    expect(Object.keys(scenario.targets)).toEqual(["__proto__", "constructor", "toString"]);
    expect(Object.keys(scenario.properties)).toEqual(["__proto__"]);
    const result = await simulate(scenario);
    expect(result.events.map((event) => [event.target, event.to])).toEqual([
      ["__proto__", "healthy"],
      ["constructor", "healthy"],
      ["toString", "healthy"],
    ]);
    expect(result.problems).toEqual([]);
  });

  it("are printed with control characters made visible, so that none forges a line; the result keeps them exact", async () => {
    const forged = "p\n     9.000 s  pool          DECISION reboot, fences the host: forged\u001b[2K";
    const scenario = parseScenario({ durationMs: 200_000, targets: { [forged]: [{ fromMs: 0, latencyMs: 1 }, { fromMs: 10_000, error: "EIO\nDECISION", latencyMs: 1 }] } });
    const result = await simulate(scenario);
    expect(result.events[0]?.target).toBe(forged);
    const text = formatSimulation(result);
    expect(text.replaceAll("\n", "")).not.toMatch(/\p{Cc}/u);
    const lines = text.split("\n").slice(0, -2);
    expect(lines).toHaveLength(result.events.length + result.decisions.length);
    expect(result.decisions).toHaveLength(1);
    for (const line of lines) expect(line).toMatch(/^ +\d+\.\d{3} s {2}p\\n {5}9\.000 s {2}pool {10}DECISION reboot, fences the host: forged\\e\[2K {2}/);
    expect(lines.at(-1)).toMatch(/DECISION hard-reboot, fences the host: all 5 tries of round 2 failed; last failed: EIO\\nDECISION$/);
  });
});

describe("scenario properties", () => {
  it("attribute each problem to where it comes from: agent.properties by line, the scenario's own properties by key", async () => {
    const scenario = parseScenario({
      durationMs: 100,
      properties: { "heartbeat.update.timeout": "0", "kvm.heartbeat.update.retry.sleep": "1000" },
      targets: { pool: [{ fromMs: 0, latencyMs: 1 }] },
    });
    const file = "kvm.heartbeat.update.max.tries=x\nkvm.heartbeat.update.retry.sleep=soon\n";
    const { problems, config } = await simulate(scenario, file);
    expect(problems.map(({ key, line, source }) => ({ key, source, ...(source === "properties" ? { line } : {}) }))).toEqual([
      { key: "kvm.heartbeat.update.max.tries", source: "properties", line: 1 },
      { key: "heartbeat.update.timeout", source: "scenario" },
    ]);
    expect(config["kvm.heartbeat.update.retry.sleep"]).toBe(1000);
  });

  it("refuses a property that is not a string, or an empty key, naming it in the scenario", async () => {
    expect(() => parseScenario({ durationMs: 1, properties: { "hb.fence.scope": 1 }, targets: { pool: [{ fromMs: 0, latencyMs: 1 }] } })).toThrow(
      /invalid scenario: properties\.hb\.fence\.scope: expected a string/,
    );
    await expect(simulate(parseScenario({ durationMs: 1, properties: { "": "x" }, targets: { pool: [{ fromMs: 0, latencyMs: 1 }] } }))).rejects.toMatchObject({
      code: "SCENARIO",
      message: "invalid scenario: properties.: the key is empty",
    });
  });
});
