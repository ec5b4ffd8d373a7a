import { afterAll, beforeAll, expect, it } from "vitest";
import { scenarioInput } from "../src/arbitraries.js";
import { checkNothingOutside, fuzz, FuzzChild, printSeed, writeMarker } from "../src/harness.js";

// The scenario reader of `hb simulate` (@hb/core): parseScenario, then the real loop under
// SimulatedClock with an event limit, and the text of the result.
printSeed();
let child: FuzzChild;
let marker: string;
beforeAll(async () => {
  child = await FuzzChild.start("scenario");
  marker = await writeMarker(child.folder);
});
afterAll(() => child.stop());

it("simulates any scenario JSON, or stops with a named error (SCENARIO, SIMULATION_LIMIT), within 10 s", async () => {
  await fuzz(child, "scenario", scenarioInput, 300, 10_000);
});

it("printed nothing of its own and wrote nothing outside its temp folder", async () => {
  const { output, writes } = await checkNothingOutside(child, marker);
  expect(output).toBe("");
  if (writes !== null) expect(writes).toEqual([]);
});
