// Fakes at the ports only: programs on PATH (logger, systemctl, sync, wdctl, modprobe) that
// record their argv, and a temporary file as the sysrq trigger. One events file receives both,
// one line each, in the order they happened.
import { afterEach } from "vitest";
import { deriveTiming, resolveConfig } from "@hb/config";
import { ProcessExecutor, SystemClock, type FenceDecision } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import type { FenceContext, FenceSettings } from "../src/index.js";

export type Behaviour = "ok" | "hang" | "fail";

export const BOOT_ID = "11111111-2222-4333-8444-555555555555";
const PROGRAMS = ["logger", "systemctl", "sync", "wdctl", "modprobe"] as const;

export interface FakeHost {
  readonly temp: TempDir;
  readonly bin: string;
  /** Fakes append "name\targ\targ…"; the sysrq trigger (this same file) gets "s" and "b". */
  readonly eventsFile: string;
  readonly stateDir: string;
  readonly bootIdFile: string;
  install(name: string, behaviour: Behaviour): Promise<void>;
  events(): Promise<string[][]>;
  /** Event lines as words, e.g. "logger -t heartbeat -- …", "s", "b". */
  eventNames(): Promise<string[]>;
  records(): Promise<Record<string, unknown>[]>;
  /** Puts the fakes first on PATH; returns the restore function. */
  onPath(): () => void;
}

function script(name: string, events: string, behaviour: Behaviour): string {
  const record = `line=${JSON.stringify(name)}; tab=$(printf '\\t'); for a in "$@"; do line="$line$tab$a"; done; printf '%s\\n' "$line" >> ${JSON.stringify(events)}`;
  const tail = {
    ok: "exit 0",
    fail: `echo "Failed to connect to bus: Host is down" >&2; exit 1`,
    // Never returns by itself (the executor's deadline ends it).
    hang: "exec sleep 600",
  }[behaviour];
  return `#!/bin/sh\n${record}\n${tail}\n`;
}

export async function fakeHost(behaviours: Partial<Record<string, Behaviour>> = {}): Promise<FakeHost> {
  const temp = await makeTempDir("hb-fence-");
  const bin = temp.file("bin");
  await mkdir(bin);
  const eventsFile = temp.file("events");
  await writeFile(eventsFile, "");
  const bootIdFile = temp.file("boot_id");
  await writeFile(bootIdFile, `${BOOT_ID}\n`);
  const host: FakeHost = {
    temp,
    bin,
    eventsFile,
    stateDir: temp.file("state"),
    bootIdFile,
    async install(name, behaviour) {
      const path = `${bin}/${name}`;
      await writeFile(path, script(name, eventsFile, behaviour));
      await chmod(path, 0o755);
    },
    async events() {
      const text = await readFile(eventsFile, "utf8");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => line.split("\t"));
    },
    async eventNames() {
      return (await host.events()).map((words) => words.join(" "));
    },
    async records() {
      const text = await readFile(`${host.stateDir}/fence.jsonl`, "utf8");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    onPath() {
      const previous = process.env.PATH;
      process.env.PATH = `${bin}:${previous ?? ""}`;
      return () => {
        process.env.PATH = previous;
      };
    },
  };
  for (const name of PROGRAMS) await host.install(name, behaviours[name] ?? "ok");
  return host;
}

/**
 * The fakes' step deadline. The record is written by a child process (a hung state folder must
 * not pin this process), and a Node start on a loaded test machine can take a few hundred ms.
 */
export const STEP_MS = 1000;

export function fenceSettingsFor(host: FakeHost, overrides: Partial<FenceSettings> = {}): FenceSettings {
  return {
    flushWaitMs: 200,
    gracefulDeadlineMs: 1500,
    stepTimeoutMs: STEP_MS,
    sysrqTrigger: host.eventsFile,
    agentService: "cloudstack-agent",
    killAffectedVms: false,
    stateDir: host.stateDir,
    watchdogDevice: host.temp.file("no-watchdog"),
    customScript: host.temp.file("no-custom-script"),
    customDeadlineMs: 1500,
    customFences: false,
    ...overrides,
  };
}

export function contextFor(host: FakeHost, overrides: Partial<Omit<FenceContext, "settings">> & { settings?: Partial<FenceSettings> } = {}): FenceContext {
  const { settings, ...rest } = overrides;
  return {
    executor: new ProcessExecutor(),
    clock: new SystemClock(),
    settings: fenceSettingsFor(host, settings),
    source: "kvmspheartbeat.sh",
    version: "9.9.9",
    host: "kvm-host-1",
    bootIdFile: host.bootIdFile,
    backstops: [],
    ...rest,
  };
}

/** A decision as the loop makes it: two state changes and the failed attempts behind them. */
export function decisionFor(overrides: Partial<FenceDecision> = {}): FenceDecision {
  const timing = deriveTiming(resolveConfig(null).values);
  return {
    atMs: 400_000,
    wallTime: "2026-07-01T10:00:00.000Z",
    target: "pool-7f3a",
    reason: "5 of 5 attempts failed: timeout",
    action: "hard-reboot",
    isFence: true,
    mode: "act",
    dryRun: false,
    history: [
      { atMs: 60_000, target: "pool-7f3a", from: "healthy", to: "failing", reason: "attempt 1 timed out" },
      { atMs: 400_000, target: "pool-7f3a", from: "failing", to: "dead", reason: "5 of 5 attempts failed: timeout" },
    ],
    lastAttempts: [
      { seq: 9, round: 2, try: 4, startedAtMs: 270_000, latencyMs: 60_000, result: "timeout", message: "no answer in 60 s" },
      { seq: 10, round: 2, try: 5, startedAtMs: 340_000, latencyMs: 60_000, result: "timeout", message: "no answer in 60 s" },
    ],
    timing,
    arithmetic: "last good heartbeat at 0 s; decision at most 410 s after it",
    ...overrides,
  };
}

/** Every field the issue asks of a record, present and typed. */
export function expectCompleteRecord(record: Record<string, unknown>): void {
  const required: Record<string, string> = {
    kind: "string",
    id: "string",
    wallTime: "string",
    wallMs: "number",
    monoMs: "number",
    bootId: "string",
    host: "string",
    source: "string",
    target: "string",
    reason: "string",
    action: "string",
    fences: "boolean",
    isFence: "boolean",
    mode: "string",
    dryRun: "boolean",
    summary: "string",
    plan: "object",
    history: "object",
    lastAttempts: "object",
    timing: "object",
    notices: "object",
    hbVersion: "string",
  };
  const missing = Object.entries(required).filter(([key, type]) => typeof record[key] !== type);
  if (missing.length > 0) throw new Error(`record fields missing or mistyped: ${missing.map(([key]) => key).join(", ")}`);
  const timing = record.timing as Record<string, unknown>;
  for (const key of ["flushWaitMs", "gracefulDeadlineMs", "stepTimeoutMs", "decisionAtMs", "model", "arithmetic"]) {
    if (timing[key] === undefined) throw new Error(`record timing lacks ${key}`);
  }
}

/**
 * A `host()` that makes a fake host for one test, puts its binaries first on PATH, and undoes
 * both after the test; `cleanups` takes the test's own undo steps too (run in reverse order).
 */
export function useFakeHosts(): { host: (behaviours?: Partial<Record<string, Behaviour>>) => Promise<FakeHost>; cleanups: (() => unknown)[] } {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const host = async (behaviours: Partial<Record<string, Behaviour>> = {}) => {
    const fake = await fakeHost(behaviours);
    cleanups.push(() => fake.temp.remove());
    cleanups.push(fake.onPath());
    return fake;
  };
  return { host, cleanups };
}
