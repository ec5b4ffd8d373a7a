// Runs one row of the fault matrix: a pool on real storage under hbd, a good heartbeat, the
// fault, then what hbd does, measured on the loop's own monotonic clock.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { appendFile, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { deriveTiming, parseProperties, resolveConfig, type HeartbeatConfig, type TimingModel } from "@hb/config";
import type { TargetState } from "@hb/core";
import { type FakeDrbdsetup, type FaultFs, makeFakeDrbdsetup, makeTempDir, mountFaultFs, type TempDir } from "@hb/testkit";
import { WRITE_OPS, type FaultEnd, type MatrixRow } from "../fault-matrix.table.js";
import { runAsNobody } from "../process/hbd.js";
import { DaemonUnderTest, type AttemptEntry, type LogEntry } from "./daemon.js";
import type { FileWatch } from "./watch.js";

const HOST_ID = "10.0.0.5";
const WARM_FIXTURE = "two-node-healthy.events2.txt";
const IDLE_CLIENTS = fileURLToPath(new URL("../process/idle-clients.mjs", import.meta.url));
const HOLD_PORT = fileURLToPath(new URL("../process/hold-port.mjs", import.meta.url));

export interface RowEnvironment {
  readonly watch: FileWatch;
  /** Lines the fake logger received (all rows share it). */
  syslogLines(): Promise<string[]>;
}

export interface Check {
  readonly what: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface RowResult {
  /** The pool's states from the fault on, up to the decision or the end of the watch. */
  readonly states: readonly TargetState[];
  /** Decision time after the last good heartbeat; null: none. */
  readonly decisionMs: number | null;
  /** The timing model's prediction for this row; null when no decision is expected. */
  readonly predictedMs: number | null;
  /** b written to the sysrq trigger, after the decision. */
  readonly resetAfterDecisionMs: number | null;
  /** Where b must land after the decision: not before min, not after max (+ tolerance). */
  readonly resetWindow: { readonly minMs: number; readonly maxMs: number } | null;
  /** How long the pool was watched after the last good heartbeat. */
  readonly watchedMs: number;
  /** Watchdog rows: the longest span without a keepalive, and the device timeout. */
  readonly keepaliveGapMs?: number;
  readonly watchdogTimeoutMs?: number;
  readonly checks: readonly Check[];
  readonly timing: TimingModel;
}

/** Why this row cannot run here, or null. */
export function unavailableReason(row: MatrixRow, fuse: string | null): string | null {
  const kind = row.inject.kind;
  const needsFuse = kind === "storage" || kind === "storage-hang-mid-attempt" || (kind === "state-dir" && row.inject.stateDir === "hang");
  if (needsFuse && fuse !== null) return fuse;
  if (kind === "state-dir" && process.getuid?.() !== 0) return "a read-only state directory needs root (mount -t tmpfs -o ro)";
  if (kind === "full-pool" && process.getuid?.() !== 0) return "a full pool is a real tmpfs, which needs root (mount -t tmpfs)";
  if ((kind === "idle-connections" || kind === "status-port-held") && process.getuid?.() !== 0) return "another uid's processes need root (setpriv --reuid=65534)";
  return null;
}

/** The row's agent.properties values (before its temporary paths). */
export function rowProperties(row: MatrixRow, base: Readonly<Record<string, string>>): Record<string, string> {
  return { ...base, "kvm.heartbeat.fence.action": row.action ?? "reboot", ...row.properties };
}

/**
 * The configuration hbd reads from these properties; a row whose settings hbd would not take is
 * a broken row, except for the keys it expects hbd to report (and replace by their defaults).
 */
export function configOf(properties: Readonly<Record<string, string>>, expectedProblems: readonly string[] = []): HeartbeatConfig {
  const { values, problems } = resolveConfig(parseProperties(propertiesText(properties)));
  const unexpected = problems.filter((problem) => !expectedProblems.includes(problem.key));
  if (unexpected.length > 0) throw new Error(`the row's settings are not what hbd runs with: ${unexpected.map((problem) => problem.message).join("; ")}`);
  const missing = expectedProblems.filter((key) => !problems.some((problem) => problem.key === key));
  if (missing.length > 0) throw new Error(`hb's configuration takes ${missing.join(", ")} as written: no problem reported`);
  return values;
}

function propertiesText(properties: Readonly<Record<string, string>>): string {
  return `${Object.entries(properties)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n")}\n`;
}

/** When a fault ends, in ms after the last good heartbeat. */
export function faultEndMs(end: FaultEnd, config: HeartbeatConfig, timing: TimingModel): number {
  const frequency = config["kvm.heartbeat.update.frequency"];
  const timeout = config["heartbeat.update.timeout"];
  const sleep = config["kvm.heartbeat.update.retry.sleep"];
  if ("midPauseAfterTry" in end) return frequency + end.midPauseAfterTry * timeout + (end.midPauseAfterTry - 1) * sleep + sleep / 2;
  if ("beforeLatestDecisionMs" in end) return timing.decisionLatestMs - end.beforeLatestDecisionMs;
  return timing.decisionLatestMs + end.afterLatestDecisionMs;
}

/** A full round past the latest decision: long enough to be sure none comes. */
export function watchWindowMs(config: HeartbeatConfig, timing: TimingModel): number {
  return timing.decisionLatestMs + config["kvm.heartbeat.update.frequency"] + config["heartbeat.update.timeout"];
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.max(0, ms)));

function mounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === path);
}

function run(file: string, args: readonly string[]): void {
  const result = spawnSync(file, [...args], { encoding: "utf8", timeout: 10_000 });
  if (result.status !== 0) throw new Error(`${file} ${args.join(" ")}: ${result.error?.message ?? result.stderr.trim()}`);
}

const isDecision = (entry: LogEntry) => typeof entry.msg === "string" && entry.msg.startsWith("fence decision");

export async function runRow(row: MatrixRow, base: Readonly<Record<string, string>>, env: RowEnvironment): Promise<RowResult> {
  const temp: TempDir = await makeTempDir(`hb-matrix-${row.id}-`);
  // Undone in reverse order, also when the row fails half way.
  const undo: (() => Promise<void> | void)[] = [];
  let keepTemp = false;
  try {
    return await runIn(temp, undo, row, base, env);
  } finally {
    for (const step of undo.reverse()) {
      try {
        await step();
      } catch (error) {
        keepTemp = true;
        console.warn(`fault matrix ${row.id}: cleanup: ${(error as Error).message}`);
      }
    }
    // Never walk into a mount left behind (a hung one would block this process).
    if (!keepTemp && !mounted(temp.file("state"))) await temp.remove();
  }
}

async function runIn(temp: TempDir, undo: (() => Promise<void> | void)[], row: MatrixRow, base: Readonly<Record<string, string>>, env: RowEnvironment): Promise<RowResult> {
  const { watch } = env;
  const inject = row.inject;
  const checks: Check[] = [];
  const check = (what: string, ok: boolean, detail: string) => void checks.push({ what, ok, detail });

  const sysrq = temp.file("sysrq-trigger");
  await writeFile(sysrq, "");
  watch.add(sysrq);
  undo.push(() => watch.remove(sysrq));
  const stateDir = temp.file("state");
  await mkdir(stateDir);
  const properties: Record<string, string> = {
    ...rowProperties(row, base),
    "hb.state.dir": stateDir,
    "hb.fence.sysrq.trigger": sysrq,
    "hb.watchdog.device": temp.file("no-watchdog"),
    "hb.status.listen": "127.0.0.1:0",
    "hb.host.ip": HOST_ID,
  };

  // The pool: a FUSE mount (or a plain folder) presented as NFS by the mount table, or DRBD.
  let fuse: FaultFs | undefined;
  let drbd: FakeDrbdsetup | undefined;
  let mountPoint = "";
  const mountsFile = temp.file("mounts");
  if (row.pool === "nfs") {
    if (inject.kind === "storage" || inject.kind === "storage-hang-mid-attempt") {
      const mount = await mountFaultFs({ files: { "KVMHA/.keep": "" } });
      undo.push(() => mount.unmount());
      fuse = mount;
      mountPoint = mount.mountPoint;
    } else {
      mountPoint = temp.file("pool");
      await mkdir(mountPoint);
      if (inject.kind === "full-pool") {
        // Room for the heartbeat, its record and the folder; filled once they exist.
        run("mount", ["-t", "tmpfs", "-o", "size=64k,nr_inodes=32,mode=0755", "hb-matrix-full", mountPoint]);
        const pool = mountPoint;
        undo.push(() => {
          if (mounted(pool)) run("umount", ["-l", pool]);
        });
      }
    }
    await writeFile(mountsFile, `10.0.0.2:/export/primary ${mountPoint} nfs rw,sync,soft 0 0\n`);
    properties["hb.mounts.file"] = mountsFile;
    properties["hb.pools"] = `nfs:${mountPoint}`;
  } else {
    const fake = await makeFakeDrbdsetup();
    undo.push(() => fake.remove());
    drbd = fake;
    await fake.answer("events2", { fixture: WARM_FIXTURE });
    properties["hb.drbd.drbdsetup"] = fake.path;
    properties["hb.pools"] = "linstor:drbd";
  }

  let sysClassWatchdog: string | undefined;
  let device: string | undefined;
  if (inject.kind === "event-loop-stall") {
    device = temp.file("wd-matrix");
    await writeFile(device, "");
    sysClassWatchdog = temp.file("sys");
    await mkdir(join(sysClassWatchdog, "wd-matrix"), { recursive: true });
    await writeFile(join(sysClassWatchdog, "wd-matrix", "timeout"), `${inject.watchdogTimeoutS}\n`);
    properties["hb.watchdog.device"] = device;
  }

  // The state folder's fault is prepared now; it takes effect with the pool's.
  let stateFuse: FaultFs | undefined;
  if (inject.kind === "state-dir" && inject.stateDir === "hang") {
    const mount = await mountFaultFs();
    undo.push(() => mount.unmount());
    stateFuse = mount;
  }

  // Another user's listener on the status port, before hbd starts.
  if (inject.kind === "status-port-held") {
    const port = await freePort();
    const holder = runAsNobody([process.execPath, HOLD_PORT, String(port)]);
    undo.push(() => void holder.child.kill("SIGKILL"));
    for (let i = 0; i < 200 && !holder.lines.includes("listening"); i++) await sleep(50);
    if (!holder.lines.includes("listening")) throw new Error(`uid 65534 could not listen on ${port}: ${await Promise.race([holder.exited, sleep(100).then(() => "still running")])}`);
    properties["hb.status.listen"] = `127.0.0.1:${port}`;
  }

  const propertiesFile = temp.file("agent.properties");
  await writeFile(propertiesFile, propertiesText(properties));
  let config: HeartbeatConfig;
  try {
    config = configOf(properties, row.expectedProblems);
  } catch (error) {
    // Expected problems not reported: the row fails as a check, with what hbd then does.
    check("the value is reported", false, (error as Error).message);
    config = resolveConfig(parseProperties(propertiesText(properties))).values;
  }
  const timing = deriveTiming(config);
  const daemon = await DaemonUnderTest.start({ propertiesFile, ...(sysClassWatchdog === undefined ? {} : { sysClassWatchdog }) });
  undo.push(() => daemon.stop());

  // A good heartbeat with the pool healthy: the fault starts right after it.
  const startWait = performance.now();
  let good: AttemptEntry;
  for (;;) {
    good = (await daemon.next("a good heartbeat", (entry) => entry.msg === "attempt" && entry.result === "ok", 30_000)) as AttemptEntry;
    if (daemon.current.get(good.pool) === "healthy") break;
    if (performance.now() - startWait > 30_000) throw new Error(`the pool never became healthy: ${daemon.current.get(good.pool) ?? "no state"}`);
  }
  const pool = good.pool;
  const lastGood = good.startedAtMs + good.latencyMs;
  const faultIndex = daemon.entries.length;
  const firstState = daemon.current.get(pool) as TargetState;
  const wallAtFault = Date.now();

  if (inject.kind === "event-loop-stall") {
    return stallRow(daemon, watch, device as string, inject.stallMs, inject.watchdogTimeoutS, pool, timing, checks);
  }
  if (inject.kind === "idle-connections") {
    return idleConnectionsRow(daemon, inject.count, pool, lastGood, config, timing, checks, undo);
  }
  for (const key of row.expectedProblems ?? []) {
    const line = daemon.entries.find((entry) => entry.key === key && typeof entry.msg === "string" && entry.msg.startsWith("configuration:"));
    check("the value is reported", line !== undefined, line === undefined ? `no problem logged for ${key}` : `${String(line.msg)} (line ${String(line.line)}, used ${String(line.used)})`);
  }

  // Inject.
  let drbdCallsAtFault = 0;
  let fullPool: { ino: number; text: string } | undefined;
  switch (inject.kind) {
    case "storage": {
      const mount = fuse as FaultFs;
      await mount.setFault(inject.fault);
      if (inject.ends !== undefined) {
        const endMs = faultEndMs(inject.ends, config, timing);
        const timer = setTimeout(() => void mount.setFault({}), lastGood + endMs - performance.now());
        undo.push(() => clearTimeout(timer));
      }
      break;
    }
    case "storage-hang-mid-attempt": {
      const mount = fuse as FaultFs;
      await mount.setFault({ hang: true, ops: ["fsync"] });
      const reached = await mount
        .waitForHeld(1, config["kvm.heartbeat.update.frequency"] + config["heartbeat.update.timeout"] + 2_000)
        .then(() => true)
        .catch(() => false);
      await mount.setFault({ hang: true, ops: WRITE_OPS });
      const file = join(mount.backingDir, "KVMHA", `hb-${HOST_ID}`);
      const rewrittenAfterFault = statSync(file).mtimeMs >= wallAtFault - 1;
      check("the hang started mid-attempt", reached && rewrittenAfterFault, reached ? `the attempt rewrote ${file} in place, then its fsync hung` : "no attempt reached its fsync");
      break;
    }
    case "mount-vanishes":
      await vanish(mountsFile);
      break;
    case "drbd-fixture":
      await (drbd as FakeDrbdsetup).answer("events2", { fixture: `${inject.fixture}.events2.txt` });
      drbdCallsAtFault = (await (drbd as FakeDrbdsetup).calls()).length;
      break;
    case "drbdsetup":
      await (drbd as FakeDrbdsetup).answer("events2", {
        ...(inject.hang === true ? { hang: true } : {}),
        ...(inject.exit === undefined ? {} : { exit: inject.exit }),
        ...(inject.stderr === undefined ? {} : { stderr: inject.stderr }),
      });
      break;
    case "status-port-held": {
      const endpoint = daemon.status().statusEndpoint;
      check(
        "hbd runs and reports the endpoint unbound",
        !endpoint.bound && /EADDRINUSE/.test(endpoint.error ?? "") && daemon.status().healthy === false,
        `statusEndpoint ${JSON.stringify(endpoint)}, healthy ${String(daemon.status().healthy)}`,
      );
      await vanish(mountsFile);
      break;
    }
    case "reload-broken-file": {
      if (inject.file === "removed") await rm(propertiesFile);
      else await writeFile(propertiesFile, Buffer.from([0x00, 0xff, 0x13, 0x37, 0x0a, 0x00]));
      const reloaded = await daemon.reload();
      const status = daemon.status();
      check(
        "the reload keeps the running configuration",
        reloaded.stale !== null && status.action === "log-only" && status.dryRun && status.config.stale !== null,
        `after the reload: action ${status.action}, dry run ${String(status.dryRun)}, configuration stale: ${status.config.stale === null ? "no" : `since ${status.config.stale.since}: ${status.config.stale.reason}`}`,
      );
      await vanish(mountsFile);
      break;
    }
    case "settings-only":
      break;
    case "full-pool": {
      const heartbeat = join(mountPoint, "KVMHA", `hb-${HOST_ID}`);
      fullPool = { ino: statSync(heartbeat).ino, text: readFileSync(heartbeat, "utf8") };
      const filled = await fill(mountPoint);
      check("the pool is full", filled.full, filled.detail);
      break;
    }
    case "state-dir": {
      if (inject.stateDir === "read-only") {
        run("mount", ["-t", "tmpfs", "-o", "ro,size=1m", "hb-matrix-ro", stateDir]);
      } else {
        await (stateFuse as FaultFs).setFault({ hang: true, ops: WRITE_OPS });
        run("mount", ["--bind", (stateFuse as FaultFs).mountPoint, stateDir]);
      }
      undo.push(() => {
        if (mounted(stateDir)) run("umount", ["-l", stateDir]);
      });
      // Released before anything else: the daemon's stop reads its lock file in this folder.
      if (inject.stateDir === "hang") undo.push(() => (stateFuse as FaultFs).setFault({}));
      await vanish(mountsFile);
      break;
    }
  }

  const window = row.watchMs ?? watchWindowMs(config, timing);
  if (row.decision === "none") {
    await sleep(lastGood + window - performance.now());
    if (fullPool !== undefined) {
      const heartbeat = join(mountPoint, "KVMHA", `hb-${HOST_ID}`);
      const now = { ino: statSync(heartbeat).ino, text: readFileSync(heartbeat, "utf8") };
      const under = daemon.attempts(pool).filter((attempt) => attempt.at > lastGood);
      const failed = under.filter((attempt) => attempt.result !== "ok");
      check("every heartbeat on the full pool succeeds", under.length > 0 && failed.length === 0, failed.length === 0 ? `${under.length} heartbeats, all ok` : `${failed.length} of ${under.length} not ok: ${String(failed[0]?.message)}`);
      check(
        "rewritten in place",
        now.ino === fullPool.ino && now.text !== fullPool.text,
        `hb-${HOST_ID}: inode ${fullPool.ino} → ${now.ino}, ${JSON.stringify(fullPool.text.trim())} → ${JSON.stringify(now.text.trim())}`,
      );
    }
    if (inject.kind === "settings-only") {
      const attempts = daemon.attempts(pool).filter((attempt) => attempt.at > lastGood).length;
      check("no heartbeat in a hot loop", attempts <= 1, `${attempts} heartbeat(s) in the ${Math.round(window)} ms after the last good one`);
    }
    if (drbd !== undefined && inject.kind === "drbd-fixture") {
      // The answer was swapped before these calls: each of them printed the fixture.
      const calls = (await drbd.calls()).length - drbdCallsAtFault;
      check("the fixture was read", calls >= 3, `drbdsetup events2 answered with ${inject.fixture}.events2.txt ${calls} times`);
    }
    const decisions = daemon.entries.slice(faultIndex).filter(isDecision);
    check("no decision", decisions.length === 0, decisions.length === 0 ? "none" : String(decisions[0]?.msg));
    const reset = watch.firstTime(sysrq, "b");
    check("no reset", reset === undefined, reset === undefined ? "nothing written to the sysrq trigger" : "b written");
    return {
      states: [firstState, ...daemon.statesAfter(faultIndex, pool)],
      decisionMs: decisions[0] === undefined ? null : decisions[0].at - lastGood,
      predictedMs: null,
      resetAfterDecisionMs: null,
      resetWindow: null,
      watchedMs: performance.now() - lastGood,
      checks,
      timing,
    };
  }

  const decision = await daemon.next("a fence decision", isDecision, lastGood + timing.decisionLatestMs + 10_000 - performance.now());
  const decisionIndex = daemon.entries.indexOf(decision);
  const states = [firstState, ...daemon.entries.slice(faultIndex, decisionIndex).filter((entry) => entry.pool === pool && typeof entry.to === "string").map((entry) => entry.to as TargetState)];
  // The decision comes with the fold of the round's last try: its state change is logged just before.
  const before = daemon.attempts(pool).filter((attempt) => attempt.at <= decision.at);
  const lastOk = before.filter((attempt) => attempt.result === "ok").at(-1);
  const reference = lastOk === undefined ? lastGood : lastOk.startedAtMs + lastOk.latencyMs;
  const decisionMs = decision.at - reference;
  const tries = config["kvm.heartbeat.update.max.tries"];
  const failedTries = before.slice(-tries);
  const predictedMs = row.decision === "latest" ? timing.decisionLatestMs : timing.decisionEarliestMs + failedTries.reduce((sum, attempt) => sum + attempt.latencyMs, 0);
  if (row.decision === "earliest") check("decision no later than the latest", decisionMs <= timing.decisionLatestMs + row.toleranceMs, `${Math.round(decisionMs)} ms`);

  // The action: b must reach the sysrq trigger after its minimum and by the model's reset deadline.
  let resetAfterDecisionMs: number | null = null;
  let resetWindow: RowResult["resetWindow"] = null;
  if (timing.fences && timing.resetLatestMs !== null) {
    const flush = config["hb.fence.flush.wait"];
    const minMs = row.action === "graceful-reboot" ? config["hb.fence.graceful.deadline"] + flush : flush;
    const maxMs = timing.resetLatestMs - timing.decisionLatestMs;
    resetWindow = { minMs, maxMs };
    const until = decision.at + maxMs + row.toleranceMs + 2_000;
    let at = watch.firstTime(sysrq, "b");
    while (at === undefined && performance.now() < until) {
      await sleep(20);
      at = watch.firstTime(sysrq, "b");
    }
    resetAfterDecisionMs = at === undefined ? null : at - decision.at;
    if (stateFuse !== undefined && at !== undefined) {
      const held = stateFuse.held();
      check("b written while the record hangs", held > 0, `${held} write(s) to the state folder held in the kernel when b was seen`);
    }
    const keys = watch
      .seen(sysrq)
      .map((arrival) => arrival.text.trim())
      .join("");
    check("s before b", keys.replace(/\s/g, "").startsWith("sb"), `sysrq trigger got ${JSON.stringify(keys)}`);
  }
  if (inject.kind === "reload-broken-file") {
    const reset = watch.firstTime(sysrq, "b");
    check("no reset", reset === undefined, reset === undefined ? "nothing written to the sysrq trigger" : "b written");
    check("the decision is the running action's", decision.action === "log-only" && decision.mode === "dry-run", `action ${String(decision.action)}, mode ${String(decision.mode)}`);
  }
  await rowSpecificChecks(row, daemon, env, { stateDir, mountPoint, wallAtFault, check });

  return {
    states,
    decisionMs,
    predictedMs,
    resetAfterDecisionMs,
    resetWindow,
    watchedMs: performance.now() - lastGood,
    checks,
    timing,
  };
}

async function rowSpecificChecks(
  row: MatrixRow,
  daemon: DaemonUnderTest,
  env: RowEnvironment,
  context: { stateDir: string; mountPoint: string; wallAtFault: number; check: (what: string, ok: boolean, detail: string) => void },
): Promise<void> {
  const { check, stateDir } = context;
  const inject = row.inject;
  if (inject.kind === "mount-vanishes") {
    const file = join(context.mountPoint, "KVMHA", `hb-${HOST_ID}`);
    const mtime = statSync(file).mtimeMs;
    check("nothing written once unmounted", mtime < context.wallAtFault, `${file} last written ${Math.round(context.wallAtFault - mtime)} ms before the mount vanished`);
  }
  if (inject.kind === "state-dir") {
    // The note about the record follows the decision's syslog line; give the fake logger a moment.
    const record = `${stateDir}/fence.jsonl`;
    const expected = inject.stateDir === "read-only" ? "EROFS" : "did not answer";
    let line: string | undefined;
    for (let i = 0; i < 50 && line === undefined; i++) {
      line = (await env.syslogLines()).find((candidate) => candidate.includes(record) && candidate.includes(expected));
      if (line === undefined) await sleep(20);
    }
    check("syslog names the unwritten record", line !== undefined, line ?? `no logger line mentions ${record} with ${expected}`);
  }
  if (row.action === "graceful-reboot") {
    const lines = readFileSync(`${stateDir}/fence.jsonl`, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const fallback = lines.find((line) => line.kind === "fallback");
    check("the record names the fallback", typeof fallback?.why === "string" && /systemctl reboot gave no answer/.test(fallback.why), String(fallback?.why ?? "no fallback record"));
    const report = daemon.entries.find((entry) => typeof entry.msg === "string" && entry.msg.startsWith("fence action:"));
    check("the action reported its fallback", report !== undefined && /being reset/.test(String(report.msg)), String(report?.msg ?? "no fence action log line"));
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address !== null ? address.port : 0;
}

/**
 * Idle connections of another user against hbd's status endpoint. hbd runs in this process, so
 * its descriptors are this process's: without a cap the attack takes them all, and a heartbeat
 * cannot even start its child.
 */
async function idleConnectionsRow(
  daemon: DaemonUnderTest,
  count: number,
  pool: string,
  lastGood: number,
  config: HeartbeatConfig,
  timing: TimingModel,
  checks: Check[],
  undo: (() => Promise<void> | void)[],
): Promise<RowResult> {
  const check = (what: string, ok: boolean, detail: string) => void checks.push({ what, ok, detail });
  const port = Number(daemon.statusAddress?.split(":").at(-1));
  const faultIndex = daemon.entries.length;
  const firstState = daemon.current.get(pool) as TargetState;
  const descriptors = () => readdirSync("/proc/self/fd").length;
  const before = descriptors();
  // Two processes: one process of uid 65534 may hold at most 20 000 descriptors here.
  const attackers = [0, 1].map(() => runAsNobody([process.execPath, IDLE_CLIENTS, String(port), String(count / 2)], count / 2 + 500));
  for (const attacker of attackers) undo.push(() => void attacker.child.kill("SIGKILL"));
  const opened = () => attackers.reduce((sum, attacker) => sum + Math.max(0, ...attacker.lines.map((line) => Number(/opened (\d+)/.exec(line)?.[1] ?? 0))), 0);
  let most = before;
  const until = performance.now() + 120_000;
  while (opened() < count && performance.now() < until) {
    most = Math.max(most, descriptors());
    await sleep(50);
  }
  check("the clients connected", opened() >= count, `${opened()} connections made by uid 65534`);
  // A whole watch window under attack, from the moment every client had connected.
  const attackedAt = performance.now();
  const attemptsAtAttack = daemon.attempts(pool).length;
  const window = watchWindowMs(config, timing);
  while (performance.now() < attackedAt + window) {
    most = Math.max(most, descriptors());
    await sleep(50);
  }
  for (const attacker of attackers) attacker.child.kill("SIGKILL");
  const under = daemon.attempts(pool).slice(attemptsAtAttack);
  const failed = under.filter((attempt) => attempt.result !== "ok");
  check("every heartbeat under attack succeeds", under.length > 0 && failed.length === 0, failed.length === 0 ? `${under.length} heartbeats, all ok` : `${failed.length} of ${under.length} not ok: ${String(failed[0]?.message)}`);
  check("hbd's descriptors stay bounded", most - before < 200, `at most ${most - before} more descriptors than before the attack`);
  const decisions = daemon.entries.slice(faultIndex).filter(isDecision);
  check("no decision", decisions.length === 0, decisions.length === 0 ? "none" : String(decisions[0]?.msg));
  return {
    states: [firstState, ...daemon.statesAfter(faultIndex, pool)],
    decisionMs: decisions[0] === undefined ? null : decisions[0].at - lastGood,
    predictedMs: null,
    resetAfterDecisionMs: null,
    resetWindow: null,
    watchedMs: performance.now() - lastGood,
    checks,
    timing,
  };
}

/** Uses every inode, then every block, of the filesystem at `mountPoint`, as the write-pool tests do. */
async function fill(mountPoint: string): Promise<{ full: boolean; detail: string }> {
  let files = 0;
  let bytes = 0;
  for (;;) {
    try {
      await writeFile(join(mountPoint, `fill-${files}`), "");
      files++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      break;
    }
  }
  const block = Buffer.alloc(4096, 1);
  for (;;) {
    try {
      await appendFile(join(mountPoint, "fill-0"), block);
      bytes += block.length;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
      break;
    }
  }
  const probe = await writeFile(join(mountPoint, "KVMHA", "probe"), "x").then(
    () => "created",
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
  return { full: files > 0 && probe === "ENOSPC", detail: `${files} empty files and ${bytes} bytes written until ENOSPC; a new file in KVMHA/: ${probe}` };
}

/** The pool's line leaves the mount table, written whole (hbd may read it at any moment). */
async function vanish(mountsFile: string): Promise<void> {
  const rest = readFileSync(mountsFile, "utf8")
    .split("\n")
    .filter((line) => line !== "" && !line.includes(" nfs "));
  await writeFile(`${mountsFile}.new`, rest.join("\n"));
  await rename(`${mountsFile}.new`, mountsFile);
}

/**
 * hbd's own event loop busy for stallMs, in this very process (hbd runs here). The stall is
 * shorter than the device's timeout, so one keepalive right after it would keep the host up;
 * hbd must withhold the tick that comes late, so that the device resets the host.
 */
async function stallRow(
  daemon: DaemonUnderTest,
  watch: FileWatch,
  device: string,
  stallMs: number,
  timeoutS: number,
  pool: string,
  timing: TimingModel,
  checks: Check[],
): Promise<RowResult> {
  const check = (what: string, ok: boolean, detail: string) => void checks.push({ what, ok, detail });
  watch.add(device);
  try {
    const started = performance.now();
    // Keepalives flowing: the watchdog is armed after the first good round.
    while (watch.seen(device).length < 2) {
      if (performance.now() - started > 20_000) throw new Error("hbd sent no keepalives to the watchdog device");
      await sleep(20);
    }
    const faultIndex = daemon.entries.length;
    const firstState = daemon.current.get(pool) as TargetState;
    const lastBefore = watch.seen(device).at(-1)?.at as number;
    const stallStart = performance.now();
    while (performance.now() - stallStart < stallMs) {
      // busy: hbd's timers, children and keepalives all wait
    }
    const stallEnd = performance.now();
    const countAfterStall = watch.seen(device).length;
    const late = await daemon.next("the late tick", (entry) => entry.msg === "event loop was stalled: no watchdog keepalive", 5_000).catch(() => undefined);
    check(
      "the late tick keeps no keepalive",
      late !== undefined && watch.seen(device).length === countAfterStall,
      late === undefined ? "no 'event loop was stalled' log line" : `the tick ran ${String(late.lateMs)} ms late and wrote nothing`,
    );
    // Keepalives again once the loop is healthy.
    const resumeBy = performance.now() + 15_000;
    while (watch.seen(device).length === countAfterStall && performance.now() < resumeBy) await sleep(20);
    const firstAfter = watch.seen(device)[countAfterStall]?.at;
    check("keepalives resume", firstAfter !== undefined, firstAfter === undefined ? "none within 15 s" : `${Math.round(firstAfter - stallEnd)} ms after the stall`);
    const decisions = daemon.entries.slice(faultIndex).filter(isDecision);
    check("no fence decision", decisions.length === 0, decisions.length === 0 ? "none" : String(decisions[0]?.msg));
    return {
      states: [firstState, ...daemon.statesAfter(faultIndex, pool)],
      decisionMs: null,
      predictedMs: timeoutS * 1000,
      resetAfterDecisionMs: null,
      resetWindow: null,
      watchedMs: performance.now() - lastBefore,
      keepaliveGapMs: (firstAfter ?? performance.now()) - lastBefore,
      watchdogTimeoutMs: timeoutS * 1000,
      checks,
      timing,
    };
  } finally {
    watch.remove(device);
  }
}
