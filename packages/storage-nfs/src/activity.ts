import { isAbsolute, relative, resolve } from "node:path";
import { HbError } from "@hb/config";
import { parseHeartbeat, type HeartbeatRead } from "./heartbeat.js";
import { activityFilePath, upstreamPaths, validateHostId, validateMountPoint } from "./paths.js";
import { readHeartbeat } from "./read.js";
import { ALIVE_LINE } from "./upstream.js";
import { describeNoReply, runWorker, type ActivityReply, type StorageCallOptions } from "./worker.js";

/** kvmvmactivity.sh's hard-coded threshold: a heartbeat younger than 61 s means ALIVE. */
export const ACTIVITY_HEARTBEAT_THRESHOLD_SECONDS = 61;

export class InvalidVolumeError extends HbError {
  constructor(volume: string, reason: string) {
    super("INVALID_VOLUME", `invalid volume ${JSON.stringify(volume)}: ${reason}`);
  }
}

/** `-u`: volume paths relative to the mount point, separated by commas (and blanks, as the shell splits them). */
export function parseVolumeList(list: string): string[] {
  return list.split(/[,\s]+/).filter((volume) => volume !== "");
}

/** A volume path inside the mount point, absolute; anything that leaves the pool is refused. */
export function resolveVolume(mountPoint: string, volume: string): string {
  if (/[\0\n]/.test(volume)) throw new InvalidVolumeError(volume, "contains a control character");
  const mount = validateMountPoint(mountPoint);
  const path = resolve(mount, volume);
  const inside = relative(mount, path);
  if (inside === "" || inside.startsWith("..") || isAbsolute(inside)) throw new InvalidVolumeError(volume, `not inside ${mount}`);
  return path;
}

export type ActivityReason =
  | "heartbeat"
  | "activity-after-suspect"
  | "activity-since-last-check"
  | "empty-volume-list"
  | "no-ac-file"
  | "earlier-suspect"
  | "no-new-activity";

export interface ActivityVerdict {
  readonly verdict: "alive" | "dead";
  readonly reason: ActivityReason;
  /** The first line upstream prints for this outcome. */
  readonly line: string;
  readonly heartbeatAgeSeconds: number | null;
  readonly latestUpdate: number | null;
  /** The value compared with latestUpdate (suspect time or the last check's update time). */
  readonly comparedWith: number | null;
}

/** Step 1 of kvmvmactivity.sh: a heartbeat younger than 61 s ends the check (ALIVE). */
export function heartbeatShowsLife(read: HeartbeatRead, nowEpochSeconds: number): { readonly alive: boolean; readonly ageSeconds: number | null } {
  if (read.kind !== "content") return { alive: false, ageSeconds: null };
  const parsed = parseHeartbeat(read.text);
  if (parsed.kind !== "timestamp") return { alive: false, ageSeconds: null };
  const ageSeconds = nowEpochSeconds - parsed.epochSeconds;
  return { alive: ageSeconds < ACTIVITY_HEARTBEAT_THRESHOLD_SECONDS, ageSeconds };
}

const wholeNumber = (text: string | undefined): number | null => (text !== undefined && /^\d{1,15}$/.test(text.trim()) ? Number(text.trim()) : null);

/**
 * Steps 3–5 of kvmvmactivity.sh, from the facts the storage gave: the newest volume mtime and
 * the previous `ac-<host>` (`suspect:latest:checkTime`). An `ac` file whose suspect time is
 * unreadable counts as absent; a missing update time (no volume could be stat'ed last time)
 * is read as the previous check's time, which is what upstream's word splitting ends up doing.
 * No volume to stat now means no activity (upstream: an empty number is 0).
 */
export function decideDiskActivity(input: {
  readonly suspectTime: number;
  readonly latestUpdate: number | null;
  readonly previousAc: string | null;
  readonly acFileForMessages: string;
}): Omit<ActivityVerdict, "heartbeatAgeSeconds"> {
  const latest = input.latestUpdate ?? 0;
  const acFile = input.acFileForMessages;
  const fields = input.previousAc?.trim().split(":");
  const lastSuspect = wholeNumber(fields?.[0]);
  const base = { latestUpdate: input.latestUpdate };
  if (input.previousAc === null || lastSuspect === null) {
    return latest > input.suspectTime
      ? { ...base, verdict: "alive", reason: "activity-after-suspect", line: ALIVE_LINE, comparedWith: input.suspectTime }
      : {
          ...base,
          verdict: "dead",
          reason: "no-ac-file",
          comparedWith: input.suspectTime,
          line: `=====> Considering host as DEAD due to file [${acFile}] does not exists and condition [latestUpdateTime -gt SuspectTime] has not been satisfied. <======`,
        };
  }
  if (input.suspectTime - lastSuspect < 0) {
    return latest > input.suspectTime
      ? { ...base, verdict: "alive", reason: "activity-after-suspect", line: ALIVE_LINE, comparedWith: input.suspectTime }
      : {
          ...base,
          verdict: "dead",
          reason: "earlier-suspect",
          comparedWith: input.suspectTime,
          line: `=====> Considering host as DEAD due to file [${acFile}] exist, condition [suspectTimeDiff -lt 0] was satisfied and [latestUpdateTime -gt SuspectTime] has not been satisfied. <======`,
        };
  }
  const lastUpdate = wholeNumber(fields?.[1]) ?? wholeNumber(fields?.[2]) ?? input.suspectTime;
  return latest > lastUpdate
    ? { ...base, verdict: "alive", reason: "activity-since-last-check", line: ALIVE_LINE, comparedWith: lastUpdate }
    : {
        ...base,
        verdict: "dead",
        reason: "no-new-activity",
        comparedWith: lastUpdate,
        line: `=====> Considering host as DEAD due to file [${acFile}] exist and conditions [suspectTimeDiff -lt 0] and [latestUpdateTime -gt SuspectTime] have not been satisfied. <======`,
      };
}

export interface ActivityCheckOptions extends StorageCallOptions {
  readonly mountPoint: string;
  readonly hostId: string;
  readonly volumes: readonly string[];
  /** `-d`: when the management server began to suspect the host, epoch seconds. */
  readonly suspectTime: number;
  /** `-t`: the checker's time, stored in the ac file (upstream keeps it verbatim). */
  readonly checkTime: string;
  readonly nowEpochSeconds: number;
}

export type ActivityCheckResult =
  | ({ readonly decided: true } & ActivityVerdict)
  | { readonly decided: false; readonly reason: string; readonly heartbeatAgeSeconds: number | null };

/**
 * kvmvmactivity.sh with upstream's semantics, every storage access in a child process under the
 * one deadline: the heartbeat (61 s), then the newest mtime of the volumes against the
 * suspect time and the `ac-<host>` memory of the previous check, which is rewritten.
 */
export async function checkVmActivity(options: ActivityCheckOptions): Promise<ActivityCheckResult> {
  const mountPoint = validateMountPoint(options.mountPoint);
  const host = validateHostId(options.hostId);
  const volumes = options.volumes.map((volume) => resolveVolume(mountPoint, volume));
  const started = performance.now();
  const remaining = () => Math.max(1, Math.round(options.deadlineMs - (performance.now() - started)));
  const call = { executor: options.executor, ...(options.signal === undefined ? {} : { signal: options.signal }), ...(options.nodePath === undefined ? {} : { nodePath: options.nodePath }) };

  const read = await readHeartbeat(mountPoint, host, { ...call, deadlineMs: remaining() });
  const heartbeat = heartbeatShowsLife(read, options.nowEpochSeconds);
  if (heartbeat.alive) {
    return { decided: true, verdict: "alive", reason: "heartbeat", line: ALIVE_LINE, heartbeatAgeSeconds: heartbeat.ageSeconds, latestUpdate: null, comparedWith: null };
  }
  if (read.kind === "timeout") return { decided: false, reason: `the heartbeat file could not be read within ${read.afterMs} ms`, heartbeatAgeSeconds: null };
  if (volumes.length === 0) {
    return {
      decided: true,
      verdict: "dead",
      reason: "empty-volume-list",
      line: "=====> Considering host as DEAD due to empty UUIDList <======",
      heartbeatAgeSeconds: heartbeat.ageSeconds,
      latestUpdate: null,
      comparedWith: null,
    };
  }
  const deadlineMs = remaining();
  const { reply, exec } = await runWorker<ActivityReply>(
    {
      op: "activity",
      volumes,
      acFile: activityFilePath(mountPoint, host),
      acPrefix: `${options.suspectTime}:`,
      acSuffix: `:${options.checkTime}`,
    },
    { ...call, deadlineMs },
  );
  if (reply === null) return { decided: false, reason: describeNoReply(exec, deadlineMs, options.signal), heartbeatAgeSeconds: heartbeat.ageSeconds };
  if (!reply.ok) return { decided: false, reason: `cannot read the ac file: ${reply.code ?? ""} ${reply.message ?? ""}`.trim(), heartbeatAgeSeconds: heartbeat.ageSeconds };
  const decision = decideDiskActivity({
    suspectTime: options.suspectTime,
    latestUpdate: reply.latest ?? null,
    previousAc: reply.previous ?? null,
    acFileForMessages: upstreamPaths.activity(options.mountPoint, host),
  });
  return { decided: true, ...decision, heartbeatAgeSeconds: heartbeat.ageSeconds };
}
