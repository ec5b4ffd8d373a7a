import { execFileSync } from "node:child_process";
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
    expect(decisions).toEqual([{ atMs: lastGoodBefore(hangFromMs, frequencyMs, 5) + timing.decisionLatestMs, target: "pool", action: "hard-reboot", isFence: true, mode: "act", reason: expect.any(String) }]);
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

describe("hb simulate on hostile scenarios", () => {
  it("refuses a 10-year duration at once, naming the limit, exit 2", async () => {
    const scenario = await write("ten-years.json", { durationMs: 315_360_000_000, targets: { pool: [{ fromMs: 0, latencyMs: 5 }] } });
    const { code, stdout, stderr } = await hb(["simulate", scenario, "--file", await write("e.properties", "")]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toBe("hb: durationMs 315360000000 is past hb simulate's limit of 604800000 ms (7 days): simulate a shorter time\n");
  });

  it("stops a 1 ms frequency at the event limit, exit 2", async () => {
    const scenario = await write("busy.json", { durationMs: 86_400_000, properties: { "kvm.heartbeat.update.frequency": "1" }, targets: { pool: [{ fromMs: 0, latencyMs: 0 }] } });
    const { code, stderr } = await hb(["simulate", scenario, "--file", await write("e.properties", "")]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^hb: stopped at [\d.]+ s of the 86400 s simulated: more than hb simulate's limit of 100000 events .*\n$/);
  });

  it("prints names with escapes on the terminal and exactly in JSON; __proto__ is a target like any other", async () => {
    const forged = "a\n     1.000 s  pool          DECISION reboot\u001b[31m";
    const scenario = temp.file("names.json");
    await writeFile(scenario, `{"durationMs": 1000, "targets": {"__proto__": [{"fromMs": 0, "latencyMs": 1}], ${JSON.stringify(forged)}: [{"fromMs": 0, "latencyMs": 2}]}}`);
    const properties = await write("e.properties", "");
    const text = await hb(["simulate", scenario, "--file", properties]);
    expect(text.code).toBe(0);
    expect(text.stdout.split("\n")).toEqual([
      expect.stringMatching(/^Simulation of /),
      expect.stringMatching(/^ +0\.001 s {2}__proto__ {5}start +-> healthy /),
      expect.stringMatching(/^ +0\.002 s {2}a\\n {5}1\.000 s {2}pool {10}DECISION reboot\\e\[31m {2}start +-> healthy /),
      "no fence decision",
      "",
    ]);
    const json = JSON.parse((await hb(["simulate", scenario, "--json", "--file", properties])).stdout);
    expect(json.events.map((event: { target: string }) => event.target)).toEqual(["__proto__", forged]);
  });

  it("blames problems of the scenario's own properties on the scenario, and the file's on its lines", async () => {
    const scenario = await write("props.json", { durationMs: 1000, properties: { "heartbeat.update.timeout": "0" }, targets: { pool: [{ fromMs: 0, latencyMs: 1 }] } });
    const properties = await write("bad.properties", "# agent\nkvm.heartbeat.update.max.tries=x\n");
    const { code, stderr } = await hb(["simulate", scenario, "--file", properties]);
    expect(code).toBe(0);
    expect(stderr.split("\n")).toEqual([
      `hb: ${properties}:2: kvm.heartbeat.update.max.tries: not a whole number; using the default 5`,
      `hb: ${scenario}: properties.heartbeat.update.timeout: must be more than 0 milliseconds; using the default 60000`,
      "",
    ]);
  });

  it("refuses a FIFO as the scenario at once instead of waiting for a writer", async () => {
    const fifo = temp.file("scenario.fifo");
    execFileSync("mkfifo", [fifo]);
    const { code, stderr } = await hb(["simulate", fifo, "--file", await write("e.properties", "")]);
    expect(code).toBe(2);
    expect(stderr).toMatch(new RegExp(`^hb: cannot read scenario ${fifo.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*FIFO`));
  });
});
