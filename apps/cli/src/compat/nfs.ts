import { neighbourThresholdMs, type HeartbeatConfig } from "@hb/config";
import {
  cannotJudgeLine,
  checkVmActivity,
  ensureMounted,
  failedToCreate,
  failedToCreateLine,
  findNfsMount,
  judgeHeartbeat,
  neighbourLine,
  parseVolumeList,
  readHeartbeat,
  readMountTable,
  remountFailedLine,
  resolveVolume,
  upstreamPaths,
  validateHostId,
  validateMountPoint,
  nfsReaderSettings,
  nfsWriterSettings,
  writeHeartbeat,
} from "@hb/storage-nfs";
import type { RunDeps } from "../context.js";
import { flag, optionValue, type GetoptsResult } from "../getopts.js";
import { quietConfig } from "../lib/config.js";
import { ACTIVITY_ANSWER_MS, stopQemuOnMount } from "../lib/nfs.js";

/*
 * kvmheartbeat.sh (write and -r) and kvmvmactivity.sh as the agent calls them: judged by exit
 * status and the first line of output, with stdout and stderr merged. So the upstream line (or
 * nothing, or hb's cannot-judge line, which never holds DEAD) comes first, and whatever hb adds
 * follows it on lines of its own.
 */

/**
 * Kept for printing and exiting before the agent's own timeout kills the script: hb's deadline
 * is the agent's minus this.
 */
export const ANSWER_BEFORE_AGENT_MS = 600;

/**
 * Time left of a budget that started with the process: the agent's timer runs from the spawn,
 * so Node's start-up counts. The real clock's monotonic time is the time since the process
 * started (performance.now()).
 */
export function timeLeft(budgetMs: number, deps: RunDeps): () => number {
  return () => Math.max(1, Math.round(budgetMs - deps.clock.monoMs()));
}

/** An upstream line first; hb's details after it. */
export function say(deps: RunDeps, line: string, ...details: (string | null)[]): void {
  deps.stdout(`${line}\n`);
  for (const detail of details) if (detail !== null) deps.stderr(`hb: ${detail}\n`);
}

/** kvmheartbeat.sh without -c: write (default) or read (-r). */
export async function kvmheartbeat(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const server = optionValue(options, "i");
  const exportPath = optionValue(options, "p");
  const mountArg = optionValue(options, "m");
  const host = optionValue(options, "h");
  const readMode = flag(options, "r");
  // Upstream: no -i, exit 1 before anything else, silently.
  if (server === "") return 1;
  const { config, note } = await quietConfig(deps);
  let mount: string;
  try {
    mount = validateMountPoint(mountArg);
  } catch (error) {
    // Upstream would go on with an empty -m and write /KVMHA/hb-… on the root disk.
    deps.stderr(`hb: kvmheartbeat: -m: ${(error as Error).message}\n`);
    return 1;
  }
  const left = timeLeft((readMode ? nfsReaderSettings(config).checkTimeoutMs : nfsWriterSettings(config).writeTimeoutMs) - ANSWER_BEFORE_AGENT_MS, deps);

  let remounted: boolean;
  try {
    remounted = (await ensureMounted({ executor: deps.executor, server, exportPath, mountPoint: mount, mountsFile: nfsWriterSettings(config).mountsFile, deadlineMs: left() })).state === "remounted";
  } catch (error) {
    say(deps, remountFailedLine(server, exportPath, mountArg), (error as Error).message, note);
    return 1;
  }
  const stopped = remounted && !readMode ? await stopQemuOnMount(mount, left(), deps) : null;
  const file = upstreamPaths.heartbeat(mountArg, host);
  return readMode ? readHeartbeatMode(options, { mount, host, file, config, left, deps, notes: [note] }) : writeHeartbeatMode({ mount, host, file, left, deps, notes: [stopped, note] });
}

interface ModeArgs {
  readonly mount: string;
  readonly host: string;
  /** The path as upstream prints it. */
  readonly file: string;
  readonly left: () => number;
  readonly deps: RunDeps;
  readonly notes: readonly (string | null)[];
}

async function writeHeartbeatMode({ mount, host, file, left, deps, notes }: ModeArgs): Promise<number> {
  try {
    validateHostId(host);
  } catch (error) {
    say(deps, failedToCreateLine(file), (error as Error).message, ...notes);
    return 2;
  }
  const result = await writeHeartbeat({ executor: deps.executor, mountPoint: mount, hostId: host, nowEpochSeconds: Math.floor(deps.clock.wallMs() / 1000), deadlineMs: left() });
  if (result.ok) {
    for (const detail of notes) if (detail !== null) deps.stderr(`hb: ${detail}\n`);
    return 0;
  }
  if (failedToCreate(result)) {
    say(deps, failedToCreateLine(file), result.message, ...notes);
    return 2;
  }
  say(deps, `Failed to write ${file}: ${result.message}`, ...notes);
  return 1;
}

async function readHeartbeatMode(options: GetoptsResult, args: ModeArgs & { readonly config: HeartbeatConfig }): Promise<number> {
  const { mount, host, file, left, deps, notes } = args;
  const interval = optionValue(options, "t");
  if (interval !== "" && !/^\d+$/.test(interval)) {
    deps.stderr(`hb: kvmheartbeat: -t takes whole seconds, not ${JSON.stringify(interval)}\n`);
    return 1;
  }
  try {
    validateHostId(host);
  } catch (error) {
    deps.stderr(`hb: kvmheartbeat: -h: ${(error as Error).message}\n`);
    return 1;
  }
  // -t as the agent passes it; hb.heartbeat.max.age when longer (the writer's period plus its timeout).
  const reader = nfsReaderSettings(args.config);
  const thresholdMs = interval === "" ? reader.thresholdMs : neighbourThresholdMs(Number(interval) * 1000, reader.maxAgeMs);
  const maxAgeSeconds = Number((thresholdMs / 1000).toFixed(3));
  const read = await readHeartbeat(mount, host, { executor: deps.executor, deadlineMs: left() });
  const verdict = judgeHeartbeat(read, { nowEpochSeconds: Math.floor(deps.clock.wallMs() / 1000), maxAgeSeconds });
  say(deps, neighbourLine(verdict, file, maxAgeSeconds), verdict.verdict === "undecided" ? notJudged(`${file}: ${verdict.message}`) : null, ...notes);
  return 0;
}

/** The detail line after a cannot-judge first line. */
export const notJudged = (reason: string) => `cannot judge: ${reason}; no evidence the host is down, so not DEAD (the agent reads this as ALIVE)`;

/** kvmvmactivity.sh. */
export async function kvmvmactivity(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const server = optionValue(options, "i");
  const suspect = optionValue(options, "d");
  // Upstream: no -i or no -d, exit 2 silently.
  if (server === "" || suspect === "") return 2;
  const left = timeLeft(ACTIVITY_ANSWER_MS, deps);
  const mountArg = optionValue(options, "m");
  const host = optionValue(options, "h");
  const checkTime = optionValue(options, "t");
  let mount: string;
  let volumes: string[];
  try {
    if (!/^\d{1,15}$/.test(suspect)) throw new Error(`-d takes epoch seconds, not ${JSON.stringify(suspect)}`);
    // -t is stored verbatim in the ac file as its third field.
    if (!/^\d*$/.test(checkTime)) throw new Error(`-t takes epoch seconds, not ${JSON.stringify(checkTime)}`);
    mount = validateMountPoint(mountArg);
    validateHostId(host);
    volumes = parseVolumeList(optionValue(options, "u"));
    for (const volume of volumes) resolveVolume(mount, volume);
  } catch (error) {
    deps.stderr(`hb: kvmvmactivity: ${(error as Error).message}\n`);
    return 2;
  }
  const { config, note } = await quietConfig(deps);
  const cannotJudge = (reason: string) => {
    say(deps, cannotJudgeLine(reason), notJudged(reason), note);
    return 0;
  };
  try {
    // Upstream reads whatever is under the mount point; an unmounted pool would look inactive.
    const { mountsFile } = nfsReaderSettings(config);
    if (findNfsMount(await readMountTable(mountsFile), mount) === undefined) return cannotJudge(`${mount} is not an NFS mount (per ${mountsFile})`);
  } catch (error) {
    return cannotJudge((error as Error).message);
  }
  const now = Math.floor(deps.clock.wallMs() / 1000);
  const result = await checkVmActivity({ executor: deps.executor, mountPoint: mount, hostId: host, volumes, suspectTime: Number(suspect), checkTime, nowEpochSeconds: now, deadlineMs: left() });
  if (!result.decided) return cannotJudge(result.reason);
  say(deps, result.line, note);
  return 0;
}
