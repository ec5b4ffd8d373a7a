// The custom action with real scripts in a temp folder, the sysrq trigger a temp file: each
// script ends in the recorded outcome (its own success, or the fallback to the reset) on time.
import { chmod, chown, readFile, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { isProcessRunning } from "../src/adapters/processes.js";
import { CUSTOM_OUTPUT_MAX_BYTES, CustomAction, createFenceAction, type FenceActionReport, type FenceSettings } from "../src/index.js";
import { contextFor, decisionFor, expectCompleteRecord, useFakeHosts, type FakeHost, STEP_MS } from "./fakes.js";

const { host } = useFakeHosts();

const DEADLINE_MS = 1500;
const FLUSH_MS = 200;

async function script(fake: FakeHost, body: string, mode = 0o700): Promise<string> {
  const path = fake.temp.file("fence-custom.sh");
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, mode);
  return path;
}

function settings(path: string, more: Partial<FenceSettings> = {}): Partial<FenceSettings> {
  return { customScript: path, customDeadlineMs: DEADLINE_MS, customFences: false, flushWaitMs: FLUSH_MS, ...more };
}

const step = (report: FenceActionReport, name: string) => report.steps.find((candidate) => candidate.name === name);

/** The fallback happened, for this reason, and the reset came within the script's deadline, the flush wait and the steps around them. */
async function expectFallback(fake: FakeHost, report: FenceActionReport, refusal: string, why: RegExp) {
  expect(report).toMatchObject({ action: "custom", acted: true, exitStatus: 0 });
  expect(report.outcome).toMatch(/the host is being reset \(b written to /);
  const events = await fake.eventNames();
  expect(events.slice(-3)).toEqual(["s", "sync", "b"]);
  expect(events).toContainEqual(expect.stringMatching(new RegExp(`^logger -t heartbeat -p user\\.crit -- kvmspheartbeat\\.sh: custom fell back to reboot \\(sysrq b\\): ${why.source}`)));
  const fallback = (await fake.records()).find((record) => record.kind === "fallback");
  expect(fallback).toMatchObject({ id: report.recordId, refusal, detail: expect.stringMatching(why) });
  const reset = step(report, "sysrq b");
  expect(reset?.ok).toBe(true);
  expect(reset?.startedAtMs).toBeLessThan(5 * STEP_MS + DEADLINE_MS + FLUSH_MS + 1500);
}

describe("custom", () => {
  it("runs a good script with the documented arguments and variables, records its output, and does not reset", async () => {
    const fake = await host();
    const seen = fake.temp.file("seen");
    const path = await script(fake, `printf '%s\\n' "$@" > ${seen}; env | grep -E '^(HB_FENCE_|PATH=)' | sort >> ${seen}; echo "fenced by the PDU"; echo "a warning" >&2; exit 0`);
    const exits: number[] = [];
    const report = await new CustomAction(contextFor(fake, { settings: settings(path), onScriptExit: (status) => exits.push(status) })).execute(decisionFor({ action: "custom" }));

    expect(report).toMatchObject({ action: "custom", acted: true, exitStatus: 0 });
    expect(report.outcome).toBe(`${path} exited 0 (not counted as a fence: hb.fence.custom.fences is false)`);
    expect(exits).toEqual([0]);
    expect(await fake.eventNames()).not.toContain("b");
    const lines = (await readFile(seen, "utf8")).trim().split("\n");
    expect(lines.slice(0, 3)).toEqual(["kvmspheartbeat.sh", "pool-7f3a", "5 of 5 attempts failed: timeout"]);
    expect(lines.slice(3)).toEqual([
      expect.stringMatching(/^HB_FENCE_CAUSE=heartbeat$/),
      expect.stringMatching(/^HB_FENCE_DEADLINE_AT=\d{4}-\d\d-\d\dT/),
      `HB_FENCE_DEADLINE_MS=${DEADLINE_MS}`,
      "HB_FENCE_FENCES=false",
      `HB_FENCE_ID=${report.recordId}`,
      "HB_FENCE_POOL=pool-7f3a",
      "HB_FENCE_REASON=5 of 5 attempts failed: timeout",
      "HB_FENCE_SOURCE=kvmspheartbeat.sh",
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ]);
    const [record, custom, ...rest] = await fake.records();
    expectCompleteRecord(record as Record<string, unknown>);
    expect(record).toMatchObject({ action: "custom", fences: false, isFence: false, summary: expect.stringContaining("NOT a fence (hb.fence.custom.fences is false)") });
    expect(custom).toMatchObject({ kind: "custom", id: report.recordId, exitCode: 0, timedOut: false, stdout: "fenced by the PDU\n", stderr: "a warning\n", stdoutTruncated: false });
    expect(rest).toEqual([]);
    expect(await fake.eventNames()).toContainEqual(expect.stringMatching(/fence action 'custom' — running .*fence-custom\.sh \(deadline 1\.5 s, sysrq b if it cannot run, fails or overruns\)\. This is NOT a fence/));
  });

  it("counts as a fence when hb.fence.custom.fences says so", async () => {
    const fake = await host();
    const path = await script(fake, "exit 0");
    const report = await createFenceAction("custom", contextFor(fake, { settings: settings(path, { customFences: true }) })).execute(decisionFor({ action: "custom" }));
    expect(report.outcome).toBe(`${path} exited 0`);
    const [record] = await fake.records();
    expect(record).toMatchObject({ action: "custom", fences: true, isFence: true });
    expect(String(record?.summary)).not.toContain("NOT a fence");
  });

  it("falls back to the reset when the script is missing", async () => {
    const fake = await host();
    const path = fake.temp.file("no-such-script.sh");
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    await expectFallback(fake, report, "missing", /.*no-such-script\.sh does not exist/);
  });

  it("falls back when the script runs past its deadline, and kills its whole process group", async () => {
    const fake = await host();
    const pids = fake.temp.file("pids");
    // The script starts a child of its own and waits: both must be gone after the deadline.
    const path = await script(fake, `sleep 600 & echo "$$ $!" > ${pids}; wait`);
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    await expectFallback(fake, report, "deadline", /.*fence-custom\.sh ran past its deadline of 1\.5 s: its process group was killed/);
    const custom = (await fake.records()).find((record) => record.kind === "custom");
    expect(custom).toMatchObject({ timedOut: true, signal: "SIGKILL", exitCode: null, deadlineMs: DEADLINE_MS });
    const [shell, sleeper] = (await readFile(pids, "utf8")).trim().split(" ").map(Number);
    // SIGKILL has been sent to the group; the kernel reaps them at once (they block on nothing).
    for (let i = 0; i < 50 && (isProcessRunning(shell ?? 0) || isProcessRunning(sleeper ?? 0)); i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(isProcessRunning(shell ?? 0)).toBe(false);
    expect(isProcessRunning(sleeper ?? 0)).toBe(false);
  });

  it("falls back when the script fails, with its status and output in the record", async () => {
    const fake = await host();
    const path = await script(fake, `echo "PDU unreachable" >&2; exit 3`);
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    await expectFallback(fake, report, "failed", /.*fence-custom\.sh exited 3 \(PDU unreachable\)/);
    expect((await fake.records()).find((record) => record.kind === "custom")).toMatchObject({ exitCode: 3, stderr: "PDU unreachable\n" });
  });

  it("refuses a script writable by others, without running it", async () => {
    const fake = await host();
    const ran = fake.temp.file("ran");
    const path = await script(fake, `touch ${ran}`, 0o757);
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    await expectFallback(fake, report, "writable", /.*fence-custom\.sh is writable by others \(mode 0757\)/);
    await expect(readFile(ran)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.skipIf(process.getuid?.() !== 0)("refuses a script owned by someone else (uid 65534), without running it", async () => {
    const fake = await host();
    const ran = fake.temp.file("ran");
    const path = await script(fake, `touch ${ran}`, 0o755);
    await chown(path, 65534, 65534);
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    await expectFallback(fake, report, "owner", /.*fence-custom\.sh is owned by uid 65534, not by root/);
    await expect(readFile(ran)).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses a script that is not executable", async () => {
    const fake = await host();
    const path = await script(fake, "exit 0", 0o600);
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    await expectFallback(fake, report, "not-executable", /.*fence-custom\.sh is not executable \(mode 0600\)/);
  });

  it("keeps the first bytes of a script that floods its output, reads the rest, and takes its exit status", async () => {
    const fake = await host();
    // 8 MiB, far more than a pipe holds: a runner that stopped reading would block the script.
    const path = await script(fake, "head -c 8388608 /dev/zero | tr '\\000' x; echo done >&2; exit 0");
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom" }));
    expect(report).toMatchObject({ acted: true, exitStatus: 0 });
    expect(await fake.eventNames()).not.toContain("b");
    const custom = (await fake.records()).find((record) => record.kind === "custom");
    expect(custom).toMatchObject({ exitCode: 0, stdoutBytes: 8_388_608, stdoutTruncated: true, stderr: "done\n" });
    expect(custom?.stdout).toBe("x".repeat(CUSTOM_OUTPUT_MAX_BYTES));
  });

  it("dry run: says what it would do and runs nothing", async () => {
    const fake = await host();
    const ran = fake.temp.file("ran");
    const path = await script(fake, `touch ${ran}`);
    const report = await new CustomAction(contextFor(fake, { settings: settings(path) })).execute(decisionFor({ action: "custom", mode: "dry-run", dryRun: true, isFence: false }));
    expect(report).toMatchObject({ acted: false, exitStatus: 0 });
    expect(report.outcome).toMatch(/^dry run: would run .*fence-custom\.sh within 1\.5 s/);
    expect(await fake.eventNames()).not.toContain("b");
    await expect(readFile(ran)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
