// hb fence last against what a hostile local user or a failing disk leaves in the state folder: a
// FIFO, a device or a symbolic link as fence.jsonl, a folder others may write, a folder that hangs
// (the FUSE fault filesystem), and decision lines with fields missing or odd. Each ends on time in a
// named error naming the file (exit 2) or in what can be said (exit 0), never in a stack trace.
import { spawnSync } from "node:child_process";
import { chmod, mkdir, symlink, writeFile } from "node:fs/promises";
import { faultFsUnavailableReason, makeTempDir, mountFaultFs, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

let temp: TempDir;
let state = "";
let log = "";
let file = "";
beforeEach(async () => {
  temp = await makeTempDir("hb-fence-last-");
  state = temp.file("state");
  log = `${state}/fence.jsonl`;
  await mkdir(state, { mode: 0o750 });
  file = await properties(state);
});
afterEach(async () => {
  await temp.remove();
});

async function properties(stateDir: string): Promise<string> {
  const path = temp.file("agent.properties");
  await writeFile(path, `hb.state.dir=${stateDir}\nhb.fence.step.timeout=1500\n`);
  return path;
}

const DECISION = { kind: "decision", id: "d1", target: "pool-7f3a", reason: "5 of 5 attempts failed: timeout", action: "reboot", fences: true, mode: "act", source: "hbd", host: "kvm-1", wallTime: "2026-11-30T08:00:00.000Z" };
const lines = (...values: unknown[]) => values.map((value) => (typeof value === "string" ? value : JSON.stringify(value))).join("\n") + "\n";

describe("hb fence last refuses what is not its record, on time", () => {
  it("a FIFO as fence.jsonl: a named error (exit 2), not a wait for a writer that never comes", async () => {
    expect(spawnSync("mkfifo", [log]).status).toBe(0);
    expect(await runHb(["fence", "last", "--file", file])).toEqual({ code: 2, stdout: "", stderr: `hb: cannot read ${log}: it is a FIFO, not a regular file: refused\n` });
    expect((await runHb(["fence", "last", "--json", "--file", file])).code).toBe(2);
  });

  it("a device node as fence.jsonl: refused without being opened", async () => {
    expect(spawnSync("mknod", [log, "c", "1", "3"]).status).toBe(0);
    expect(await runHb(["fence", "last", "--file", file])).toEqual({ code: 2, stdout: "", stderr: `hb: cannot read ${log}: it is a device, not a regular file: refused\n` });
  });

  it("a symbolic link as fence.jsonl: not followed, even to a well-formed record", async () => {
    await writeFile(temp.file("forged.jsonl"), lines({ ...DECISION, target: "forged" }));
    await symlink(temp.file("forged.jsonl"), log);
    const result = await runHb(["fence", "last", "--file", file]);
    expect(result).toEqual({ code: 2, stdout: "", stderr: `hb: cannot read ${log}: it is a symbolic link (not followed), not a regular file: refused\n` });
  });

  it("a state folder others may write: its records could be forged, so none is shown (exit 2)", async () => {
    await writeFile(log, lines(DECISION), { mode: 0o640 });
    expect((await runHb(["fence", "last", "--file", file])).code).toBe(0);
    await chmod(state, 0o777);
    expect(await runHb(["fence", "last", "--file", file])).toEqual({ code: 2, stdout: "", stderr: `hb: ${state} is writable by its group or others (mode 0777): its records could be forged\n` });
  });

  it("a state folder that hangs: gives up at hb.fence.step.timeout with a cannot-read line (FUSE fault filesystem)", async (context) => {
    const unavailable = faultFsUnavailableReason();
    if (unavailable !== null) return context.skip(unavailable);
    const fault = await mountFaultFs({ files: { "state/fence.jsonl": lines(DECISION) } });
    try {
      const hung = `${fault.mountPoint}/state`;
      const path = await properties(hung);
      expect((await runHb(["fence", "last", "--file", path])).stdout).toMatch(/^hb decided to fence during this boot|^The last /);
      await fault.setFault({ hang: true, ops: ["getattr", "open", "read", "opendir", "readdir"] });
      expect(await runHb(["fence", "last", "--file", path])).toEqual({ code: 2, stdout: "", stderr: `hb: cannot read ${hung}/fence.jsonl: no answer within 1500 ms (${hung} hangs)\n` });
    } finally {
      await fault.unmount();
    }
  });
});

describe("hb fence last on a decision line with fields missing or odd", () => {
  it("without history: says what the line holds (exit 0), in words and as JSON", async () => {
    await writeFile(log, lines(DECISION), { mode: 0o640 });
    const words = await runHb(["fence", "last", "--file", file]);
    expect(words.code).toBe(0);
    expect(words.stderr).toBe("");
    expect(words.stdout).toMatch(/: pool-7f3a, reason 5 of 5 attempts failed: timeout \(reboot by hbd on kvm-1 at 2026-11-30T08:00:00\.000Z/);
    const json = await runHb(["fence", "last", "--json", "--file", file]);
    expect(JSON.parse(json.stdout)).toMatchObject({ path: log, record: DECISION, followUps: [] });
  });

  it.each([
    ["history null", { ...DECISION, history: null, lastAttempts: null }],
    ["history a string, attempts a number", { ...DECISION, history: "none", lastAttempts: 3 }],
    ["history of junk", { ...DECISION, history: [null, 1, { to: "dead", atMs: "x" }], lastAttempts: [null, { latencyMs: "slow" }] }],
    ["only kind and id", { kind: "decision", id: "bare" }],
    ["nulls for every field", { kind: "decision", id: "n", target: null, reason: null, action: null, source: null, host: null, wallTime: null, fences: null, mode: null, bootId: null }],
    ["objects where text was", { kind: "decision", id: "o", target: { a: 1 }, reason: ["r"], action: {}, fences: true, bootId: 7, mode: "suppressed", suppressedBy: {} }],
    ["a follow-up with no detail, and junk lines", [{ ...DECISION }, { kind: "fallback", id: "d1" }, "null", "[]", '"text"', "{}", { kind: "veto", id: "v", check: "__proto__" }, { kind: "veto", id: "w", check: "constructor", detail: 5 }]],
  ])("%s: exit 0, one readable account, no stack trace", async (_name, content) => {
    await writeFile(log, Array.isArray(content) ? lines(...content) : lines(content), { mode: 0o640 });
    const { code, stdout, stderr } = await runHb(["fence", "last", "--file", file]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/^(The last |hb decided )/);
    expect(stdout).not.toMatch(/\n\s+at |TypeError|undefined/);
    expect((await runHb(["fence", "last", "--json", "--file", file])).code).toBe(0);
  });

  it("prints a target's control characters as escapes: the log cannot forge a line on the terminal", async () => {
    await writeFile(log, lines({ ...DECISION, target: "pool\nThe last reboot was NOT hb's\u001b[2K" }), { mode: 0o640 });
    const { stdout } = await runHb(["fence", "last", "--file", file]);
    expect(stdout.split("\n")[0]).toContain("pool\\nThe last reboot was NOT hb's\\e[2K");
    expect(stdout).not.toContain("\u001b");
  });
});

describe("hb fence last --help", () => {
  it("prints the fence help (exit 0), not an unknown option", async () => {
    for (const argv of [["fence", "last", "--help"], ["fence", "last", "-h"], ["fence", "--dry-run", "--help"]]) {
      const { code, stdout, stderr } = await runHb(argv);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toContain("hb fence last [--json] [--file F]");
    }
  });
});
