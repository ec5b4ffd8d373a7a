import { SystemClock, ProcessExecutor } from "@hb/core";
import { mkdir, readFile, readlink, readdir, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { contextFor, decisionFor, expectCompleteRecord, useFakeHosts, type FakeHost, STEP_MS } from "./fakes.js";
import { closeHeldDevice, GracefulRebootAction, JOB_TIMEOUT_DROP_IN, systemdJobTimeoutBackstop, watchdogBackstop, type FenceActionReport } from "../src/index.js";

const { host, cleanups } = useFakeHosts();

/** Both outside resets, on temporary paths: a systemd runtime folder and a watchdog "device". */
async function backstops(fake: FakeHost) {
  const unitDir = fake.temp.file("run-systemd-system");
  await mkdir(unitDir);
  const device = fake.temp.file("watchdog");
  await writeFile(device, "");
  const base = { executor: new ProcessExecutor(), clock: new SystemClock(), stepTimeoutMs: 300 };
  const watchdog = watchdogBackstop({ ...base, device });
  cleanups.push(() => closeHeldDevice(watchdog.heldFd()));
  return { unitDir, device, watchdog, list: [systemdJobTimeoutBackstop({ ...base, runtimeUnitDir: unitDir }), watchdog] };
}

const step = (report: FenceActionReport, name: string) => {
  const found = report.steps.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no step ${name} in ${report.steps.map((s) => s.name).join(", ")}`);
  return found;
};

const MAIN_LINE =
  "logger -t heartbeat -p user.crit -- kvmspheartbeat.sh will reboot system gracefully (systemctl reboot, sysrq b if the host is still up after 1.5 s): heartbeat to the storage failed (pool-7f3a: 5 of 5 attempts failed: timeout).";

describe("graceful-reboot", () => {
  it("arms both outside resets, asks systemd to reboot, and falls back to sysrq b when the host is still up at the deadline", async () => {
    const fake = await host();
    const outside = await backstops(fake);
    const exits: number[] = [];
    const report = await new GracefulRebootAction(contextFor(fake, { backstops: outside.list, onScriptExit: (status) => exits.push(status) })).execute(
      decisionFor({ action: "graceful-reboot" }),
    );

    expect(await fake.eventNames()).toEqual([
      MAIN_LINE,
      "systemctl daemon-reload",
      `wdctl --settimeout 2 ${outside.device}`,
      "systemctl --no-block reboot",
      "logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: graceful-reboot fell back to reboot (sysrq b): the reboot was accepted but the host was still up after 1.5 s (the shutdown stalled).",
      "s",
      "sync",
      "b",
    ]);
    // The reboot.target job is forced by systemd itself if hb dies with the shutdown.
    expect(await readFile(`${outside.unitDir}/${JOB_TIMEOUT_DROP_IN}`, "utf8")).toMatch(/^\[Unit\]\nJobTimeoutSec=2\nJobTimeoutAction=reboot-force\n$/m);
    // The watchdog is open (armed) and has never been written to (no keepalive).
    const fd = outside.watchdog.heldFd();
    expect(fd).toBeTypeOf("number");
    expect(await readlink(`/proc/self/fd/${fd}`)).toBe(outside.device);
    expect(await readFile(outside.device, "utf8")).toBe("");

    expect(step(report, "wait for the shutdown").startedAtMs + step(report, "wait for the shutdown").durationMs).toBeGreaterThanOrEqual(1500);
    expect(step(report, "sysrq b").startedAtMs).toBeLessThan(1500 + 200 + 2 * STEP_MS + 1500);
    expect(report).toMatchObject({ acted: true, exitStatus: 0 });
    expect(exits).toEqual([0]);

    const [record, fallback, ...rest] = await fake.records();
    expect(rest).toEqual([]);
    expectCompleteRecord(record as Record<string, unknown>);
    expect(record).toMatchObject({ action: "graceful-reboot", isFence: true, fences: true, timing: { gracefulDeadlineMs: 1500 } });
    expect(record?.plan).toEqual(["arm systemd-job-timeout for 2 s", "arm watchdog for 2 s", "systemctl --no-block reboot", expect.stringContaining("if still up 1.5 s")]);
    expect(fallback).toMatchObject({ kind: "fallback", id: report.recordId, why: expect.stringContaining("shutdown stalled") });
  });

  it("falls back at once when systemctl refuses the reboot, and says why", async () => {
    const fake = await host({ systemctl: "fail" });
    const exits: number[] = [];
    const ctx = contextFor(fake, { settings: { gracefulDeadlineMs: 60_000 }, onScriptExit: (status) => exits.push(status) });
    const report = await new GracefulRebootAction(ctx).execute(decisionFor({ action: "graceful-reboot" }));
    const events = await fake.eventNames();
    expect(events[1]).toBe("systemctl --no-block reboot");
    expect(events[2]).toBe(
      "logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: graceful-reboot fell back to reboot (sysrq b): the reboot was refused (systemctl --no-block reboot: exit 1 (Failed to connect to bus: Host is down)).",
    );
    expect(events.slice(-3)).toEqual(["s", "sync", "b"]);
    // Long before the 60 s deadline: nothing is waited for after a refusal.
    expect(step(report, "sysrq b").startedAtMs).toBeLessThan(60_000);
    expect(exits).toEqual([1]);
    expect((await fake.records())[1]).toMatchObject({ kind: "fallback", why: expect.stringContaining("refused") });
  });

  it("with a systemctl that hangs, still resets at the deadline", async () => {
    const fake = await host({ systemctl: "hang" });
    const outside = await backstops(fake);
    const exits: number[] = [];
    const report = await new GracefulRebootAction(contextFor(fake, { backstops: outside.list, onScriptExit: (status) => exits.push(status) })).execute(
      decisionFor({ action: "graceful-reboot" }),
    );
    expect(step(report, "arm systemd-job-timeout")).toMatchObject({ ok: false, detail: expect.stringContaining("systemctl daemon-reload gave no answer within 300 ms") });
    expect(step(report, "systemctl reboot")).toMatchObject({ ok: false, detail: expect.stringContaining("gave no answer") });
    expect((await fake.eventNames()).slice(-3)).toEqual(["s", "sync", "b"]);
    expect(step(report, "sysrq b").startedAtMs).toBeGreaterThanOrEqual(1500);
    expect(step(report, "sysrq b").startedAtMs).toBeLessThan(1500 + 200 + 2 * STEP_MS + 1500);
    expect(exits).toEqual([1]);
    expect((await fake.records())[1]).toMatchObject({ kind: "fallback", why: expect.stringContaining("gave no answer") });
  });

  it("with a logger that hangs and a state folder that fails, still asks for the reboot and resets at the deadline", async () => {
    const fake = await host({ logger: "hang" });
    await writeFile(fake.temp.file("file"), "");
    const report = await new GracefulRebootAction(contextFor(fake, { settings: { stateDir: fake.temp.file("file") } })).execute(decisionFor({ action: "graceful-reboot" }));
    const events = await fake.eventNames();
    expect(events[0]).toBe(MAIN_LINE);
    // The logger hung once: the fallback line is not attempted, the reset is not delayed again.
    expect(events.slice(1)).toEqual(["systemctl --no-block reboot", "s", "sync", "b"]);
    expect(step(report, "record").ok).toBe(false);
    expect(step(report, "sysrq b").startedAtMs).toBeLessThan(1500 + 200 + 2 * STEP_MS + 1500);
  });

  it("in a dry run, arms nothing, asks for nothing and records what it would have done", async () => {
    const fake = await host();
    const outside = await backstops(fake);
    const report = await new GracefulRebootAction(contextFor(fake, { backstops: outside.list })).execute(
      decisionFor({ action: "graceful-reboot", mode: "dry-run", dryRun: true, isFence: false }),
    );
    expect(await fake.eventNames()).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- kvmspheartbeat\.sh: dry run, nothing is done — .* would reboot system gracefully/)]);
    expect(outside.watchdog.heldFd()).toBeUndefined();
    expect(await readdir(outside.unitDir)).toEqual([]);
    const [record, dry] = await fake.records();
    expectCompleteRecord(record as Record<string, unknown>);
    expect(dry).toMatchObject({ kind: "dry-run", backstops: [expect.stringContaining("systemd is running"), `watchdog: watchdog device ${outside.device}`] });
    expect(report).toMatchObject({ acted: false, exitStatus: 0 });
  });
});
