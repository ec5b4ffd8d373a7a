import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { describe, expect, it } from "vitest";
import { SystemClock, type ExecRequest, type Executor } from "@hb/core";
import { NEVER_ANSWERS, runDemo, StallingExecutor } from "../src/demo.js";

describe("hbd --demo", () => {
  it.concurrent.each([
    ["a FUSE pool where FUSE is usable", true],
    ["the child-process stand-in", false],
  ])("shows slow, failing, dead, the dry-run fence record and the recovery, then ends by itself (%s)", async (_name, fuse) => {
    let output = "";
    const code = await runDemo({ version: "0.0.0-test", stdout: (text) => void (output += text), phases: { slowAtS: 3, stallAtS: 6, recoverAtS: 20, endAtS: 24 }, fuse });
    expect(code, output).toBe(0);
    // In this order (a recovery may pass through slow while held writes drain).
    let from = 0;
    for (const text of ["-> healthy", "-> slow", "-> failing", "-> dead", "dry run: would write b", "-> healthy"]) {
      const index = output.indexOf(text, from);
      expect(index, `${text} after position ${from} in:\n${output}`).toBeGreaterThanOrEqual(0);
      from = index + text.length;
    }
    const recordPath = /The audit record of the decision: (\S+)/.exec(output)?.[1] ?? "";
    const record = JSON.parse((await readFile(recordPath, "utf8")).split("\n")[0] ?? "{}");
    // The pool's id is its folder's name: the demo's own folder, or the test kit's FUSE mount.
    const pool = /a real hbd on (\S+),/.exec(output)?.[1] ?? "";
    expect(record).toMatchObject({ action: "hard-reboot", dryRun: true, isFence: false, source: "hbd", target: basename(pool) });
  }, 60_000);
});

describe("the demo's stand-in for stalled storage", () => {
  const pool = "/tmp/hbd-demo-x/pool";
  const phases = { slowAtS: 3, stallAtS: 6, recoverAtS: 20, endAtS: 24 };
  const ran: ExecRequest[] = [];
  const recording: Executor = {
    run: async (request) => (ran.push(request), { exitCode: 0, signal: null, stdout: "", stderr: "", timedOut: false, durationMs: 1 }),
  };

  it("stalls the pool's storage workers, never the fence's audit writer whose record names the pool", async () => {
    const stalling = new StallingExecutor(recording, new SystemClock(), () => phases.stallAtS + 1, phases, pool);
    const worker: ExecRequest = { file: process.execPath, args: ["--no-warnings", "-e", "worker"], input: JSON.stringify({ mountPoint: pool }), deadlineMs: 2000, group: pool };
    const audit: ExecRequest = { file: process.execPath, args: ["--no-warnings", "-e", "append"], input: JSON.stringify({ text: `{"target":"pool","mountPoint":"${pool}"}` }), deadlineMs: 1000 };
    await stalling.run(worker);
    await stalling.run(audit);
    expect(ran[0]?.args).toEqual(["-e", NEVER_ANSWERS]);
    expect(ran[1]).toBe(audit);
  });
});
