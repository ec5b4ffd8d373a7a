import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb as hb } from "../test/harness.js";

const temp = await makeTempDir("hb-sim-");
afterAll(() => temp.remove());

async function write(name: string, content: unknown): Promise<string> {
  const path = temp.file(name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

/** End of the last write that started before the hang: writes start every frequency + latency. */
function lastGoodBefore(hangFromMs: number, frequencyMs: number, latencyMs: number): number {
  let start = 0;
  while (start + frequencyMs + latencyMs < hangFromMs) start += frequencyMs + latencyMs;
  return start + latencyMs;
}

describe("hb simulate and hb timing explain", () => {
  it.each([
    ["the default configuration", "", 60_000, 100_000],
    ["a tuned one", "heartbeat.update.timeout=5000\nkvm.heartbeat.update.frequency=10000\nkvm.heartbeat.update.max.tries=3\nkvm.heartbeat.update.retry.sleep=2000\n", 10_000, 50_000],
  ])("agree on the detection time for %s", async (_name, properties, frequencyMs, hangFromMs) => {
    const file = await write(`agree-${frequencyMs}.properties`, properties);
    const scenario = await write(`agree-${frequencyMs}.json`, { durationMs: 1_000_000, targets: { pool: [{ fromMs: 0, latencyMs: 5 }, { fromMs: hangFromMs, hang: true }] } });
    const timing = JSON.parse((await hb(["timing", "explain", "--json", "--file", file])).stdout);
    const simulated = await hb(["simulate", scenario, "--json", "--file", file]);
    expect(simulated.code).toBe(0);
    const { decisions, events } = JSON.parse(simulated.stdout);
    expect(decisions).toEqual([{ atMs: lastGoodBefore(hangFromMs, frequencyMs, 5) + timing.decisionLatestMs, target: "pool", action: "reboot", isFence: true, mode: "act", reason: expect.any(String) }]);
    expect(events.map((e: { from: string | null; to: string }) => [e.from, e.to])).toEqual([
      [null, "healthy"],
      ["healthy", "failing"],
      ["failing", "dead"],
    ]);
  });

  it("prints the operator's timeline, and says when no decision was made", async () => {
    const scenario = await write("calm.json", { durationMs: 300_000, targets: { pool: [{ fromMs: 0, latencyMs: 40_000 }] } });
    const { code, stdout } = await hb(["simulate", scenario, "--file", await write("empty.properties", "")]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/start\s+-> slow\s+written in 40000 ms, over hb\.slow\.threshold \(30000 ms\)/);
    expect(stdout).toMatch(/no fence decision\n$/);
  });

  it.each([
    [{ durationMs: 10, targets: { pool: [{ fromMs: 0 }] } }, /targets\.pool\.0: latencyMs is needed/],
    [{ durationMs: 10, targets: {} }, /at least one target/],
    [{ durationMs: 10, targets: { pool: [{ fromMs: 0, latencyMs: 1, hang: true, error: "EIO" }] } }, /at most one of hang, error, noQuorum/],
    [{ durationMs: 10, targets: { pool: [{ fromMs: 0, latencyMs: 1 }] }, bogus: 1 }, /bogus/],
    ["{ not json", /not JSON/],
  ])("refuses a bad scenario with a named error and exit 2 (%#)", async (content, message) => {
    const { code, stderr } = await hb(["simulate", await write("bad.json", content), "--file", await write("e.properties", "")]);
    expect(code).toBe(2);
    expect(stderr).toMatch(message);
  });

  it("exits 2 naming a missing scenario file", async () => {
    const { code, stderr } = await hb(["simulate", temp.file("none.json")]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read scenario .*none\.json/);
  });
});
