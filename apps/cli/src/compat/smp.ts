import { neighbourThresholdMs } from "@hb/config";
import {
  checkSmpMount,
  failedToCreate,
  judgeHeartbeat,
  neighbourLine,
  nfsReaderSettings,
  nfsWriterSettings,
  readHeartbeat,
  upstreamPaths,
  validateHostId,
  validateMountPoint,
  cannotJudgeLine,
  writeHeartbeat,
} from "@hb/storage-nfs";
import { SCRIPTS } from "../lib/scripts.js";
import type { RunDeps } from "../context.js";
import { flag, optionValue, type GetoptsResult } from "../getopts.js";
import { quietConfig } from "../lib/config.js";
import { ANSWER_BEFORE_AGENT_MS, notJudged, say, timeLeft } from "./nfs.js";

/*
 * kvmsmpheartbeat.sh (SharedMountPoint pools: a cluster filesystem mounted at -m on every host)
 * as the agent calls it. Upstream's order: -m is required for every mode; then -r (read), then
 * -c (fence), else write. The write is hb's NFS write without any remount, and kills nothing.
 */

/** Upstream's lines, word for word (upstream prints the write's on stderr, which the agent merges). */
export const smpLines = {
  mountRequired: "Mount point (-m) is required",
  notMounted: (mountPoint: string) => `Mount point is not on a mounted filesystem: ${mountPoint}`,
  folderNotWritable: (mountPoint: string) => `Folder not writable: ${mountPoint}/KVMHA/`,
  failedToWrite: (file: string) => `Failed to write heartbeat to ${file}`,
};

export async function kvmsmpheartbeat(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const mountArg = optionValue(options, "m");
  if (mountArg === "") {
    deps.stdout(`${smpLines.mountRequired}\n${SCRIPTS.kvmsmpheartbeat.usage}`);
    return 1;
  }
  if (flag(options, "r")) return readMode(options, mountArg, deps);
  if (flag(options, "c")) return (await import("./fence.js")).kvmsmpheartbeatFence(options, deps);
  return writeMode(options, mountArg, deps);
}

/** An upstream line on stderr, as upstream prints it; hb's details after it. */
function sayOnStderr(deps: RunDeps, line: string, ...details: (string | null)[]): void {
  deps.stderr(`${line}\n`);
  for (const detail of details) if (detail !== null) deps.stderr(`hb: ${detail}\n`);
}

async function writeMode(options: GetoptsResult, mountArg: string, deps: RunDeps): Promise<number> {
  const host = optionValue(options, "h");
  const { config, note } = await quietConfig(deps);
  const file = upstreamPaths.heartbeat(mountArg, host);
  let mount: string;
  try {
    mount = validateMountPoint(mountArg);
  } catch (error) {
    deps.stderr(`hb: kvmsmpheartbeat: -m: ${(error as Error).message}\n`);
    return 1;
  }
  const writer = nfsWriterSettings(config);
  const left = timeLeft(writer.writeTimeoutMs - ANSWER_BEFORE_AGENT_MS, deps);
  // Upstream (as merged) writes whatever is under the path, the local disk included; hb, as
  // upstream's newer script, writes only onto a mounted shared filesystem, and never remounts.
  const mounted = await checkSmpMount(writer.mountsFile, mount);
  if (!mounted.ok) {
    sayOnStderr(deps, smpLines.notMounted(mountArg), mounted.reason, note);
    return 1;
  }
  try {
    validateHostId(host);
  } catch (error) {
    sayOnStderr(deps, smpLines.failedToWrite(file), (error as Error).message, note);
    return 2;
  }
  const result = await writeHeartbeat({ executor: deps.executor, mountPoint: mount, hostId: host, nowEpochSeconds: Math.floor(deps.clock.wallMs() / 1000), deadlineMs: left() });
  if (result.ok) {
    if (note !== null) deps.stderr(`hb: ${note}\n`);
    return 0;
  }
  // Upstream's "Folder not writable": KVMHA cannot be made or written into (a file in its place: ENOTDIR).
  const folder = failedToCreate(result) || (!result.ok && result.code === "ENOTDIR");
  sayOnStderr(deps, folder ? smpLines.folderNotWritable(mountArg) : smpLines.failedToWrite(file), result.message, note);
  return 2;
}

async function readMode(options: GetoptsResult, mountArg: string, deps: RunDeps): Promise<number> {
  const host = optionValue(options, "h");
  const interval = optionValue(options, "t");
  if (interval !== "" && !/^\d+$/.test(interval)) {
    deps.stderr(`hb: kvmsmpheartbeat: -t takes whole seconds, not ${JSON.stringify(interval)}\n`);
    return 1;
  }
  let mount: string;
  try {
    mount = validateMountPoint(mountArg);
    validateHostId(host);
  } catch (error) {
    deps.stderr(`hb: kvmsmpheartbeat: ${(error as Error).message}\n`);
    return 1;
  }
  const { config, note } = await quietConfig(deps);
  const reader = nfsReaderSettings(config);
  const left = timeLeft(reader.checkTimeoutMs - ANSWER_BEFORE_AGENT_MS, deps);
  const file = upstreamPaths.heartbeat(mountArg, host);
  // Not mounted here: the file is missing or stale on the local disk, which says nothing of the host.
  const mounted = await checkSmpMount(nfsWriterSettings(config).mountsFile, mount);
  if (!mounted.ok) {
    say(deps, cannotJudgeLine(mounted.reason), notJudged(mounted.reason), note);
    return 0;
  }
  // -t as the agent passes it; hb.heartbeat.max.age when longer (the writer's period plus its timeout).
  const thresholdMs = interval === "" ? reader.thresholdMs : neighbourThresholdMs(Number(interval) * 1000, reader.maxAgeMs);
  const maxAgeSeconds = Number((thresholdMs / 1000).toFixed(3));
  const read = await readHeartbeat(mount, host, { executor: deps.executor, deadlineMs: left() });
  const verdict = judgeHeartbeat(read, { nowEpochSeconds: Math.floor(deps.clock.wallMs() / 1000), maxAgeSeconds });
  say(deps, neighbourLine(verdict, file, maxAgeSeconds), verdict.verdict === "undecided" ? notJudged(`${file}: ${verdict.message}`) : null, note);
  return 0;
}
