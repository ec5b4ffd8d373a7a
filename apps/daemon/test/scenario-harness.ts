import { writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { SimulatedClock, type FenceDecision, type HeartbeatTarget } from "@hb/core";
import { makeTempDir } from "@hb/testkit";
import pino from "pino";
import { Daemon } from "../src/daemon.js";
import type { PoolSpec } from "../src/pools.js";
import type { Watchdog } from "../src/watchdog.js";
import { FakeLag, fakeDaemonDeps } from "./fake-deps.js";

/** What a scenario's steps can do to hbd and its world. */
export interface ScenarioWorld {
  readonly daemon: Daemon;
  readonly lag: FakeLag;
  /** Pools whose attempts hang from now on (never answer). */
  readonly hung: Set<string>;
  /** libvirt's HA pools from now on; an Error: discovery fails with it. */
  libvirt: PoolSpec[] | Error;
  /** One request on hbd's real control socket. */
  control(request: unknown): Promise<unknown>;
  /** A line of the timeline, at the current time. */
  note(text: string): void;
}

export interface Scenario {
  /** agent.properties, without hb.state.dir and hb.status.listen (the scenario's own). */
  readonly properties: readonly string[];
  /** libvirt discovery is wired only when given. */
  readonly libvirt?: PoolSpec[];
  readonly steps: readonly (readonly [atMs: number, step: (world: ScenarioWorld) => unknown])[];
  readonly endMs: number;
}

const LEVELS: Record<number, string> = { 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** A watchdog that keeps a line of the timeline for every call hbd makes to it. */
function timelineWatchdog(note: (text: string) => void): Watchdog {
  return {
    mode: "device",
    timeoutSeconds: 3,
    keepaliveIntervalMs: 1_000,
    arm: () => note("watchdog: armed"),
    keepalive: async () => note("watchdog: keepalive"),
    disarm: async () => note("watchdog: disarmed (magic close)"),
    abandon: () => note("watchdog: abandoned (the device resets the host)"),
    describe: () => "fake watchdog, reset after 3 s without keepalive",
  };
}

/**
 * hbd on the simulated clock, its log and its watchdog's calls as one timeline: the steps run
 * at their times, then the clock runs to the end and hbd stops.
 */
export async function runScenario(scenario: Scenario): Promise<string> {
  const temp = await makeTempDir("hbd-scenario-");
  const clock = new SimulatedClock();
  const lines: string[] = [];
  const at = () => `${(clock.monoMs() / 1000).toFixed(3).padStart(8)} s`;
  const note = (text: string) => void lines.push(`${at()}  ${text.replaceAll(temp.path, "<tmp>")}`);
  const log = pino({ level: "info" }, { write: (json: string) => note(logLine(json)) });
  const file = temp.file("agent.properties");
  await writeFile(file, [...scenario.properties, `hb.state.dir=${temp.path}/state`, "hb.status.listen=127.0.0.1:0", ""].join("\n"));
  const lag = new FakeLag();
  const hung = new Set<string>();
  const decisions: FenceDecision[] = [];
  const deps = fakeDaemonDeps({
    clock,
    log,
    lag,
    makeTarget: (pool): HeartbeatTarget => ({ id: pool.id, attempt: () => (hung.has(pool.id) ? new Promise(() => undefined) : Promise.resolve({ ok: true })) }),
    makeFence: (config) => ({ name: config["kvm.heartbeat.fence.action"], execute: async (d) => (decisions.push(d), { action: d.action, outcome: "recorded", acted: false }) }),
    makeWatchdog: () => timelineWatchdog(note),
    ...(scenario.libvirt === undefined ? {} : { discoverPools: async () => (world.libvirt instanceof Error ? Promise.reject(world.libvirt) : world.libvirt) }),
  });
  const daemon = new Daemon({ propertiesPath: file }, deps);
  const world: ScenarioWorld = { daemon, lag, hung, libvirt: scenario.libvirt ?? [], control: (request) => controlRequest(`${temp.path}/state/hbd.sock`, request), note };
  try {
    await daemon.start();
    for (const [atMs, step] of scenario.steps) {
      await clock.runUntil(atMs);
      await step(world);
    }
    await clock.runUntil(scenario.endMs);
  } finally {
    await daemon.stop();
    await temp.remove();
  }
  lines.push(`${decisions.length} decision(s) reached the fence: ${decisions.map((d) => `${d.target} (${d.mode})`).join(", ") || "none"}`);
  return `${lines.join("\n")}\n`;
}

// One log entry as one line: level, pool, message, and the fields that say what changed.
function logLine(json: string): string {
  const entry = JSON.parse(json) as { level: number; msg?: string; pool?: string; from?: string | null; to?: string; mode?: string; suppressedBy?: string };
  const change = entry.to === undefined ? "" : `${entry.from ?? "start"} -> ${entry.to}: `;
  const mode = entry.mode === undefined ? "" : ` [${entry.mode}${entry.suppressedBy === undefined ? "" : `: ${entry.suppressedBy}`}]`;
  return `${(LEVELS[entry.level] ?? String(entry.level)).padEnd(5)}  ${(entry.pool ?? "-").padEnd(8)}  ${change}${entry.msg ?? ""}${mode}`;
}

/** One request line on hbd's control socket, and its answer line. */
export function controlRequest(socket: string, request: unknown): Promise<{ ok: boolean; result?: unknown; error?: string }> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let data = "";
    client.on("data", (chunk) => (data += chunk));
    client.on("end", () => resolve(JSON.parse(data)));
    client.on("error", reject);
    client.write(`${JSON.stringify(request)}\n`);
  });
}
