import { afterAll, beforeAll, expect, it } from "vitest";
import { drbdInput } from "../src/arbitraries.js";
import { checkNothingOutside, fuzz, FuzzChild, printSeed, writeMarker } from "../src/harness.js";

// drbdsetup's output as @hb/storage-drbd reads it: events2 --now, status --json and
// show --json, then the verdict (classifyHost), -c's veto judgement and the doctor's findings.
printSeed();
let child: FuzzChild;
let marker: string;
beforeAll(async () => {
  child = await FuzzChild.start("drbd");
  marker = await writeMarker(child.folder);
});
afterAll(() => child.stop());

it("reads any drbdsetup output to a verdict, or a named error (DRBD_OUTPUT), within 5 s", async () => {
  await fuzz(child, "drbd", drbdInput, 600, 5_000);
});

it("printed nothing of its own and wrote nothing outside its temp folder", async () => {
  const { output, writes } = await checkNothingOutside(child, marker);
  expect(output).toBe("");
  if (writes !== null) expect(writes).toEqual([]);
});
