import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { BOOT_ID, contextFor, decisionFor, expectCompleteRecord, useFakeHosts, STEP_MS } from "./fakes.js";
import { hangingMount, readOnlyMount } from "./storage.js";
import { RebootAction, upstreamRebootLine, type FenceActionReport } from "../src/index.js";

const { host, cleanups } = useFakeHosts();

const LINE = upstreamRebootLine("kvmspheartbeat.sh");
const step = (report: FenceActionReport, name: string) => {
  const found = report.steps.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no step ${name} in ${report.steps.map((s) => s.name).join(", ")}`);
  return found;
};

/** The reset came on time: record and syslog each cut at their deadline, then the flush wait. */
function expectResetOnTime(report: FenceActionReport, stepTimeoutMs: number, flushWaitMs: number) {
  const reset = step(report, "sysrq b");
  expect(reset.ok).toBe(true);
  expect(reset.startedAtMs).toBeLessThan(2 * stepTimeoutMs + flushWaitMs + 1500);
}

describe("reboot", () => {
  it("records, logs upstream's line, flushes without waiting, waits hb.fence.flush.wait, then writes b", async () => {
    const fake = await host();
    const exits: number[] = [];
    const report = await new RebootAction(contextFor(fake, { onScriptExit: (status) => exits.push(status) })).execute(decisionFor());

    expect(await fake.eventNames()).toEqual([`logger -t heartbeat -- ${LINE}`, "s", "sync", "b"]);
    expect(report.steps.map((s) => s.name)).toEqual(["record", "syslog", "flush", "wait", "sysrq b"]);
    expect(step(report, "sysrq b").startedAtMs - step(report, "flush").startedAtMs).toBeGreaterThanOrEqual(200);
    expect(report).toMatchObject({ action: "hard-reboot", acted: true, exitStatus: 0, recorded: true });
    expect(exits).toEqual([0]);

    const [record, ...rest] = await fake.records();
    expect(rest).toEqual([]);
    expectCompleteRecord(record as Record<string, unknown>);
    expect(record).toMatchObject({
      kind: "decision",
      id: report.recordId,
      bootId: BOOT_ID,
      host: "kvm-host-1",
      source: "kvmspheartbeat.sh",
      target: "pool-7f3a",
      reason: "5 of 5 attempts failed: timeout",
      action: "hard-reboot",
      fences: true,
      isFence: true,
      mode: "act",
      dryRun: false,
      hbVersion: "9.9.9",
      timing: { flushWaitMs: 200, stepTimeoutMs: STEP_MS, decisionAtMs: 400_000 },
    });
    expect(record?.history).toHaveLength(2);
    expect(record?.lastAttempts).toHaveLength(2);
  });

  it("still resets on time when logger hangs", async () => {
    const fake = await host({ logger: "hang" });
    const report = await new RebootAction(contextFor(fake)).execute(decisionFor());
    expect(await fake.eventNames()).toEqual([`logger -t heartbeat -- ${LINE}`, "s", "sync", "b"]);
    expect(step(report, "syslog")).toMatchObject({ ok: false, detail: expect.stringContaining(`no answer within ${STEP_MS} ms`) });
    expectResetOnTime(report, STEP_MS, 200);
  });

  it("never waits for sync: b follows the flush wait while sync is still running", async () => {
    const fake = await host({ sync: "hang" });
    // The backgrounded sync would be abandoned only at 5 s; the reset comes after the 200 ms wait.
    const report = await new RebootAction(contextFor(fake, { settings: { stepTimeoutMs: 5000 } })).execute(decisionFor());
    expect(await fake.eventNames()).toEqual([`logger -t heartbeat -- ${LINE}`, "s", "sync", "b"]);
    expect(step(report, "sysrq b").startedAtMs - step(report, "flush").startedAtMs).toBeLessThan(5000);
    expect(report.exitStatus).toBe(0);
  });

  it("resets when the state folder cannot be written (a file where the folder should be), and says so in syslog", async () => {
    const fake = await host();
    await writeFile(fake.temp.file("not-a-dir"), "");
    const report = await new RebootAction(contextFor(fake, { settings: { stateDir: fake.temp.file("not-a-dir") } })).execute(decisionFor());
    expect(step(report, "record")).toMatchObject({ ok: false, detail: expect.stringMatching(/EEXIST|ENOTDIR/) });
    const events = await fake.eventNames();
    expect(events[0]).toBe(`logger -t heartbeat -- ${LINE}`);
    expect(events[1]).toMatch(/^logger -t heartbeat -p user\.warning -- kvmspheartbeat\.sh: fence record not written/);
    expect(events.slice(2)).toEqual(["s", "sync", "b"]);
    expect(report).toMatchObject({ recorded: false, acted: true });
  });

  it("resets when the state folder is on a read-only filesystem", async (context) => {
    const fake = await host();
    const mount = await readOnlyMount(fake.temp.file("ro"));
    if (typeof mount === "string") return context.skip(mount);
    cleanups.push(() => mount.release());
    const report = await new RebootAction(contextFor(fake, { settings: { stateDir: `${mount.path}/hb` } })).execute(decisionFor());
    expect(step(report, "record")).toMatchObject({ ok: false, detail: expect.stringContaining("EROFS") });
    expect((await fake.eventNames()).slice(-3)).toEqual(["s", "sync", "b"]);
    expectResetOnTime(report, STEP_MS, 200);
  });

  it("resets on time when the state folder hangs in the kernel", async (context) => {
    const fake = await host();
    const mount = await hangingMount(fake.temp.file("fuse"));
    if (typeof mount === "string") return context.skip(mount);
    cleanups.push(() => mount.release());
    const report = await new RebootAction(contextFor(fake, { settings: { stateDir: `${mount.path}/hb` } })).execute(decisionFor());
    expect(step(report, "record")).toMatchObject({ ok: false, detail: expect.stringContaining(`did not answer within ${STEP_MS} ms`) });
    expect(await fake.eventNames()).toEqual([`logger -t heartbeat -- ${LINE}`, expect.stringContaining("fence record not confirmed"), "s", "sync", "b"]);
    expectResetOnTime(report, STEP_MS, 200);
  });

  it("resets on time when everything around it hangs at once", async () => {
    const fake = await host({ logger: "hang", systemctl: "hang", sync: "hang" });
    await writeFile(fake.temp.file("file"), "");
    const report = await new RebootAction(contextFor(fake, { settings: { stateDir: fake.temp.file("file") } })).execute(decisionFor());
    expect((await fake.eventNames()).slice(-3)).toEqual(["s", "sync", "b"]);
    expectResetOnTime(report, STEP_MS, 200);
  });

  it("in a dry run, runs and records the whole path but writes nothing to the trigger", async () => {
    const fake = await host();
    const report = await new RebootAction(contextFor(fake)).execute(decisionFor({ mode: "dry-run", dryRun: true, isFence: false }));
    const events = await fake.eventNames();
    expect(events).toEqual([
      "logger -t heartbeat -p user.warning -- kvmspheartbeat.sh: dry run, nothing is done — kvmspheartbeat.sh would reboot system (sysrq b): heartbeat to the storage failed (pool-7f3a: 5 of 5 attempts failed: timeout).",
      "sync",
    ]);
    const [record, dry] = await fake.records();
    expectCompleteRecord(record as Record<string, unknown>);
    expect(record).toMatchObject({ mode: "dry-run", dryRun: true, isFence: false, fences: true });
    expect(dry).toMatchObject({ kind: "dry-run", id: report.recordId, detail: expect.stringContaining(`would write b to ${fake.eventsFile}`) });
    expect(report).toMatchObject({ acted: false, exitStatus: 0 });
  });

  it("when suppressed, records and logs why, and does nothing else", async () => {
    const fake = await host();
    const suppressedBy = "reboot.host.and.alert.management.on.heartbeat.timeout is false";
    const report = await new RebootAction(contextFor(fake)).execute(decisionFor({ mode: "suppressed", suppressedBy, isFence: false }));
    expect(await fake.eventNames()).toEqual([
      `logger -t heartbeat -p user.warning -- kvmspheartbeat.sh: heartbeat to the storage failed (pool-7f3a: 5 of 5 attempts failed: timeout); fence action 'hard-reboot' not taken: ${suppressedBy}.`,
    ]);
    expect(await fake.records()).toEqual([expect.objectContaining({ mode: "suppressed", suppressedBy, isFence: false })]);
    expect(report).toMatchObject({ acted: false, exitStatus: 0 });
  });

  it("reports a trigger it cannot write with upstream's exit status 1", async () => {
    const fake = await host();
    const report = await new RebootAction(contextFor(fake, { settings: { sysrqTrigger: fake.temp.file("no-sysrq") } })).execute(decisionFor());
    expect(report).toMatchObject({ acted: false, exitStatus: 1, outcome: expect.stringMatching(/reset FAILED: .*ENOENT/) });
    expect(step(report, "flush")).toMatchObject({ ok: false });
  });

  it("words an operator's request without claiming a lost heartbeat", async () => {
    const fake = await host();
    await new RebootAction(contextFor(fake, { source: "hb fence", cause: "operator" })).execute(decisionFor({ reason: "maintenance test", target: "manual" }));
    expect((await fake.eventNames())[0]).toBe("logger -t heartbeat -- hb fence will reboot system (sysrq b): requested by the operator (maintenance test).");
  });
});
