// The fence log as a hostile local user or a broken disk leaves it: a FIFO, a device or a link in
// place of fence.jsonl, a folder or file others may write, a state folder that hangs, and decision
// lines with fields missing or odd. Each ends in a named error or what can be said, never a hang
// or a stack trace. FIFOs, devices and links are real ones in a temporary folder.
import { spawnSync } from "node:child_process";
import { chmod, chown, mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { deriveTiming, resolveConfig } from "@hb/config";
import { ProcessExecutor, SystemClock } from "@hb/core";
import { faultFsUnavailableReason, mountFaultFs } from "@hb/testkit";
import { describe, expect, it } from "vitest";
import { contextFor, decisionFor, useFakeHosts } from "./fakes.js";
import { describeLastFence, FenceLogError, parseLastFence, readLastFence, RebootAction, UntrustedStateError, withinDeadline } from "../src/index.js";

const { host } = useFakeHosts();
const executor = new ProcessExecutor();

async function stateWith(fake: { readonly stateDir: string }): Promise<string> {
  await mkdir(fake.stateDir, { recursive: true, mode: 0o750 });
  return `${fake.stateDir}/fence.jsonl`;
}

const DECISION = { kind: "decision", id: "d1", target: "pool-7f3a", reason: "5 of 5 attempts failed: timeout", action: "reboot", fences: true, mode: "act", source: "hbd", host: "kvm-1" };

describe("hb fence last's reader refuses what is not its record", () => {
  it("refuses a FIFO as fence.jsonl at once, in this process and in the bounded child (no writer ever comes)", async () => {
    const fake = await host();
    const log = await stateWith(fake);
    expect(spawnSync("mkfifo", [log]).status).toBe(0);
    for (const options of [{}, { executor, deadlineMs: 10_000 }]) {
      const error = await readLastFence(fake.stateDir, options).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(FenceLogError);
      expect(error).toMatchObject({ code: "FENCE_LOG", message: `cannot read ${log}: it is a FIFO, not a regular file: refused` });
    }
  });

  it("refuses a device node as fence.jsonl without opening it", async () => {
    const fake = await host();
    const log = await stateWith(fake);
    // /dev/null's numbers, made here: never touch /dev.
    if (spawnSync("mknod", [log, "c", "1", "3"]).status !== 0) return void expect.fail("mknod needs root");
    await expect(readLastFence(fake.stateDir, { executor, deadlineMs: 10_000 })).rejects.toMatchObject({ code: "FENCE_LOG", message: `cannot read ${log}: it is a device, not a regular file: refused` });
  });

  it("does not follow a symbolic link as fence.jsonl, even to a valid record", async () => {
    const fake = await host();
    const log = await stateWith(fake);
    const elsewhere = fake.temp.file("forged.jsonl");
    await writeFile(elsewhere, `${JSON.stringify(DECISION)}\n`);
    await symlink(elsewhere, log);
    for (const options of [{}, { executor, deadlineMs: 10_000 }]) {
      await expect(readLastFence(fake.stateDir, options)).rejects.toMatchObject({ code: "FENCE_LOG", message: `cannot read ${log}: it is a symbolic link (not followed), not a regular file: refused` });
    }
  });

  it("does not trust a state folder or a log that others may write, nor a log owned by another user", async () => {
    const fake = await host();
    const log = await stateWith(fake);
    await writeFile(log, `${JSON.stringify(DECISION)}\n`, { mode: 0o640 });
    expect(await readLastFence(fake.stateDir, { executor, deadlineMs: 10_000 })).toMatchObject({ record: { id: "d1" } });

    await chmod(fake.stateDir, 0o777);
    const open = await readLastFence(fake.stateDir, { executor, deadlineMs: 10_000 }).catch((caught: unknown) => caught);
    expect(open).toBeInstanceOf(UntrustedStateError);
    expect(open).toMatchObject({ code: "STATE_UNTRUSTED", message: `${fake.stateDir} is writable by its group or others (mode 0777): its records could be forged` });
    await chmod(fake.stateDir, 0o750);

    await chmod(log, 0o666);
    await expect(readLastFence(fake.stateDir)).rejects.toMatchObject({ code: "STATE_UNTRUSTED", message: `${log} is writable by its group or others (mode 0666): its records could be forged` });
    await chmod(log, 0o640);

    if (process.getuid?.() === 0) {
      await chown(log, 65534, 65534);
      await expect(readLastFence(fake.stateDir)).rejects.toMatchObject({ code: "STATE_UNTRUSTED", message: `${log} is owned by uid 65534, not root: its records could be forged` });
    }
  });

  it("gives up on a hung state folder at its deadline, and this process stays free (FUSE fault filesystem)", async (context) => {
    const unavailable = faultFsUnavailableReason();
    if (unavailable !== null) return context.skip(unavailable);
    const fault = await mountFaultFs({ files: { "state/fence.jsonl": `${JSON.stringify(DECISION)}\n` } });
    try {
      const stateDir = `${fault.mountPoint}/state`;
      expect(await readLastFence(stateDir, { executor, deadlineMs: 10_000 })).toMatchObject({ record: { id: "d1" } });
      await fault.setFault({ hang: true, ops: ["getattr", "open", "read", "opendir", "readdir"] });
      // Four hung reads would hold every libuv pool thread if they ran in this process.
      for (let n = 0; n < 4; n++) {
        await expect(readLastFence(stateDir, { executor, deadlineMs: 1000 })).rejects.toMatchObject({
          code: "FENCE_LOG",
          message: `cannot read ${stateDir}/fence.jsonl: no answer within 1000 ms (${stateDir} hangs)`,
        });
      }
      const local = await withinDeadline(new SystemClock(), 5000, readFile("/proc/self/stat", "utf8"));
      expect(local.done).toBe(true);
    } finally {
      await fault.unmount();
    }
  });
});

describe("a decision line with fields missing or odd", () => {
  const tail = (...lines: unknown[]) => ({ path: "/var/lib/hb/fence.jsonl", text: `${lines.map((line) => JSON.stringify(line)).join("\n")}\n` });

  it.each([
    ["no history", { ...DECISION }],
    ["history null", { ...DECISION, history: null }],
    ["history a string", { ...DECISION, history: "none", lastAttempts: 3 }],
    ["history of junk", { ...DECISION, history: [null, 7, "x", { to: "dead" }, { atMs: "soon", from: 3, reason: { deep: true } }], lastAttempts: [null, { result: "timeout" }] }],
    ["only kind and id", { kind: "decision", id: "bare" }],
    ["nulls everywhere", { kind: "decision", id: "n", target: null, reason: null, action: null, source: null, host: null, wallTime: null, fences: null, mode: null, bootId: 12 }],
    ["odd types", { kind: "decision", id: "o", target: ["a"], reason: { why: 1 }, action: 42, fences: "yes", mode: "act", suppressedBy: 5, bootId: {} }],
    ["__proto__ and constructor", JSON.parse(`{"kind":"decision","id":"p","__proto__":{"fences":true},"constructor":1,"history":{"length":3}}`)],
  ])("%s: says what it can", (_name, record) => {
    const last = parseLastFence(tail(record, { kind: "fallback", id: (record as { id: string }).id, detail: { not: "text" } }));
    expect(last).not.toBeNull();
    const words = describeLastFence(last!);
    expect(words).toMatch(/^The last |^hb decided /);
    expect(words.endsWith("\n")).toBe(true);
  });

  it("says what a record lacking history has, and that it cannot tell whether it fenced", () => {
    const { fences: _, ...noFences } = DECISION;
    expect(describeLastFence(parseLastFence(tail(noFences))!)).toBe(
      "The last decision was reboot; the record does not say whether it fenced: pool-7f3a, reason 5 of 5 attempts failed: timeout (reboot by hbd on kvm-1 at ?).\n",
    );
    const words = describeLastFence(parseLastFence(tail({ ...DECISION, history: [{ atMs: 60_000, from: null, to: "failing", reason: "attempt 1 timed out" }, null] }))!);
    expect(words).toContain("  state history:\n    60 s start → failing: attempt 1 timed out\n");
  });

  it("prints control characters in a record as escapes: a target name cannot forge a line", () => {
    const words = describeLastFence(parseLastFence(tail({ ...DECISION, target: "pool\nDECISION: fence kvm-2\u001b[2J" }))!);
    expect(words.split("\n")[0]).toContain("pool\\nDECISION: fence kvm-2\\e[2J");
    expect(words).not.toContain("\u001b");
  });
});

describe("the invariants kept in the record", () => {
  it("say what holds when they hold, and keep the failure's wording when they do not", async () => {
    const fake = await host();
    // log-only: fence-protects-disks fails.
    const timing = deriveTiming(resolveConfig(null).values);
    const notFencing = deriveTiming({ ...resolveConfig(null).values, "kvm.heartbeat.fence.action": "log-only" });
    await new RebootAction(contextFor(fake)).execute(decisionFor({ timing }));
    await new RebootAction(contextFor(fake)).execute(decisionFor({ timing: notFencing }));
    const [fencing, logOnly] = (await fake.records()).filter((line) => line.kind === "decision") as { timing: { model: { invariants: { id: string; holds: boolean; message: string }[] } } }[];
    const failureWording = new Map([...timing.invariants, ...notFencing.invariants].map((invariant) => [invariant.message, invariant.id]));
    const holding = fencing!.timing.model.invariants.filter((invariant) => invariant.holds);
    expect(holding.map((invariant) => invariant.id)).toEqual(timing.invariants.filter((invariant) => invariant.holds).map((invariant) => invariant.id));
    expect(holding.length).toBeGreaterThan(2);
    for (const invariant of holding) expect(failureWording.has(invariant.message)).toBe(false);
    expect(fencing!.timing.model.invariants.find((invariant) => invariant.id === "fence-protects-disks")?.message).toBe(
      "fence action hard-reboot fences: the host is reset, so its VMs stop before CloudStack may start them elsewhere",
    );
    // CloudStack's defaults: a neighbour may call a healthy but slow writer dead.
    expect(fencing!.timing.model.invariants.find((invariant) => invariant.id === "neighbour-threshold-covers-writer")).toEqual(
      timing.invariants.find((invariant) => invariant.id === "neighbour-threshold-covers-writer"),
    );
    const broken = logOnly!.timing.model.invariants.find((invariant) => invariant.id === "fence-protects-disks");
    expect(broken).toEqual(notFencing.invariants.find((invariant) => invariant.id === "fence-protects-disks"));
    expect(broken?.holds).toBe(false);
  });
});
