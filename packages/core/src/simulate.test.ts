import { deriveTiming, parseProperties, resolveConfig } from "@hb/config";
import { describe, expect, it } from "vitest";
import { parseScenario, simulate } from "./index.js";

describe("simulate under upstream's policy, for side-by-side comparisons", () => {
  const hang = parseScenario({ durationMs: 900_000, targets: { pool: [{ fromMs: 0, latencyMs: 5 }, { fromMs: 100_000, hang: true }] } });
  const model = deriveTiming(resolveConfig(parseProperties("")).values);

  it("decides one retry sleep later than hb, as the agent does", async () => {
    const lastGood = 60_010;
    expect((await simulate(hang)).decisions[0]?.atMs).toBe(lastGood + model.decisionLatestMs);
    expect((await simulate(hang, "", "upstream")).decisions[0]?.atMs).toBe(lastGood + model.upstreamDecisionLatestMs);
  });

  it("fences a pool that never worked (no start-up grace), where hb withholds", async () => {
    const neverWorked = parseScenario({ durationMs: 200_000, targets: { pool: [{ fromMs: 0, error: "Failed to create", latencyMs: 1 }] } });
    expect((await simulate(neverWorked)).decisions).toEqual([]);
    expect((await simulate(neverWorked, "", "upstream")).decisions).toHaveLength(1);
  });

  it("counts hb's own fault as a failed try, as the agent does with a script that cannot start, where hb does not", async () => {
    const emfile = parseScenario({ durationMs: 300_000, targets: { pool: [{ fromMs: 0, latencyMs: 5 }, { fromMs: 100_000, inconclusive: "EMFILE" }, { fromMs: 200_000, latencyMs: 5 }] } });
    const hb = await simulate(emfile);
    expect(hb.decisions).toEqual([]);
    expect(hb.events.map((e) => e.to)).toEqual(["healthy", "inconclusive", "healthy"]);
    expect((await simulate(emfile, "", "upstream")).decisions).toHaveLength(1);
  });

  it("counts a DRBD resync as a failed check (promotion_score:0), where hb sees a degraded, working pool", async () => {
    const resync = parseScenario({ durationMs: 400_000, targets: { linstor: [{ fromMs: 0, latencyMs: 30 }, { fromMs: 50_000, latencyMs: 30, impairment: "resync 12%" }] } });
    const hb = await simulate(resync);
    expect(hb.decisions).toEqual([]);
    expect(hb.events.map((e) => e.to)).toEqual(["healthy", "degraded"]);
    expect((await simulate(resync, "", "upstream")).decisions).toHaveLength(1);
  });
});
