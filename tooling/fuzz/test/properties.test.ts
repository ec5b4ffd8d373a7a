import { afterAll, beforeAll, expect, it } from "vitest";
import { propertiesInput } from "../src/arbitraries.js";
import { checkNothingOutside, fuzz, FuzzChild, printSeed, writeMarker } from "../src/harness.js";

// The properties reader (@hb/config): parse, resolve and validate, the timing model, and the
// lossless edit, on any text or bytes, from memory or from a file.
printSeed();
let child: FuzzChild;
let marker: string;
beforeAll(async () => {
  child = await FuzzChild.start("properties");
  marker = await writeMarker(child.folder);
});
afterAll(() => child.stop());

it("reads any agent.properties with values and problems, or a named error, within 5 s", async () => {
  await fuzz(child, "properties", propertiesInput, 300, 5_000);
});

it("printed nothing of its own and wrote nothing outside its temp folder", async () => {
  const { output, writes } = await checkNothingOutside(child, marker);
  expect(output).toBe("");
  if (writes !== null) expect(writes).toEqual([]);
});
