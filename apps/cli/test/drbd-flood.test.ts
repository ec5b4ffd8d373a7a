import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeDrbdsetup, makeFakeDrbdsetup } from "@hb/testkit";
import { runHb } from "./harness.js";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const exec = promisify(execFile);

let fake: FakeDrbdsetup;
beforeEach(async () => {
  fake = await makeFakeDrbdsetup();
});
afterEach(() => fake.remove());

async function properties(): Promise<string> {
  const path = fake.dir.file("agent.properties");
  await writeFile(path, `hb.drbd.drbdsetup=${fake.path}\nhb.drbd.node.name=kvm-a\n`);
  return path;
}

// A drbdsetup that prints without end used to crash hb with an uncaught RangeError and a dump of
// the minified bundle; now it is killed at the output cap and named, exit 2 (never 1, "lost").
describe("hb drbd health with a drbdsetup that floods its output", () => {
  it("exits 2 with one line naming drbdsetup and the cap", async () => {
    await fake.answer("events2", { flood: "stdout" });
    const { code, stdout, stderr } = await runHb(["drbd", "health", "--timeout", "60000", "--file", await properties()]);
    expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
    expect(stderr).toBe(`hb: drbdsetup could not be run: ${fake.path} events2 --now --statistics: printed more than 16777216 bytes on stdout (killed): not drbdsetup's answer\n`);
  });

  it("does the same as a real process, with no stack trace", async () => {
    await fake.answer("events2", { flood: "stderr" });
    const failed = await exec(process.execPath, [bin, "drbd", "health", "--timeout", "60000", "--file", await properties()]).then(
      () => undefined,
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect(failed).toMatchObject({ code: 2, stdout: "" });
    expect(failed?.stderr.split("\n")).toEqual([`hb: drbdsetup could not be run: ${fake.path} events2 --now --statistics: printed more than 16777216 bytes on stderr (killed): not drbdsetup's answer`, ""]);
  });
});
