import { execFileSync } from "node:child_process";
import { rm } from "node:fs/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { hbdInput } from "../src/arbitraries.js";
import { checkNothingOutside, fuzz, FUZZ_UID, FuzzChild, printSeed, writeMarker, writesOutside } from "../src/harness.js";

// hbd's status document as the CLI reads it: `hb status`'s table (formatStatus), and -c's
// parseDaemonStatus + judgeDaemon. (`hb status` itself, with the document coming back from the
// control client, is in the argv property.)
printSeed();
let child: FuzzChild;
let marker: string;
beforeAll(async () => {
  child = await FuzzChild.start("hbd-status");
  marker = await writeMarker(child.folder);
});
afterAll(() => child.stop());

it("reads any document hbd might answer without an unnamed error, within 5 s", async () => {
  await fuzz(child, "hbd", hbdInput, 400, 5_000);
});

it("printed nothing of its own and wrote nothing outside its temp folder", async () => {
  const { output, writes } = await checkNothingOutside(child, marker);
  expect(output).toBe("");
  if (writes !== null) expect(writes).toEqual([]);
});

it("sees a file its uid writes outside the temp folder (the check above is not blind)", async () => {
  if (process.getuid?.() !== 0) return;
  const probe = `/var/tmp/hb-fuzz-probe-${process.pid}`;
  const probeMarker = await writeMarker(child.folder);
  try {
    execFileSync("setpriv", [`--reuid=${FUZZ_UID}`, `--regid=${FUZZ_UID}`, "--clear-groups", "touch", probe]);
    expect(await writesOutside(probeMarker)).toContain(probe);
  } finally {
    await rm(probe, { force: true });
  }
});
