import { isAbsolute, relative, resolve } from "node:path";
import { HbError } from "@hb/errors";
import { judgeHeartbeat, type HeartbeatRead, type NeighbourReason, type NeighbourVerdict } from "./heartbeat.js";
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

/** Why a check cannot judge: no evidence either way, so never DEAD (DESIGN rule 10). */
export type ActivityCannotJudge =
  | "heartbeat-missing"
  | "heartbeat-empty"
  | "heartbeat-not-a-timestamp"
  | "heartbeat-unreadable"
  | "timeout"
  | "ac-unreadable"
  | "ac-not-understood"
  | "volumes-unreadable"
  | "storage-error"
  | "not-mounted";

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

export interface ActivityNotJudged {
  readonly decided: false;
  readonly cause: ActivityCannotJudge;
  /** One line for people. */
  readonly reason: string;
  readonly heartbeatAgeSeconds: number | null;
}

export type ActivityCheckResult = ({ readonly decided: true } & ActivityVerdict) | ActivityNotJudged;

/** decideDiskActivity's answer: a check result before the heartbeat's age is added. */
export type DiskActivityDecision = ({ readonly decided: true } & Omit<ActivityVerdict, "heartbeatAgeSeconds">) | Omit<ActivityNotJudged, "heartbeatAgeSeconds">;

/**
 * Step 1 of kvmvmactivity.sh: a heartbeat younger than 61 s ends the check (ALIVE); an older
 * readable one lets the volumes decide; anything else (missing, empty, garbage, unreadable,
 * late) is no evidence, where upstream's first line would be `cat`'s or `expr`'s error.
 */
export function judgeActivityHeartbeat(read: HeartbeatRead, nowEpochSeconds: number): NeighbourVerdict {
  return judgeHeartbeat(read, { nowEpochSeconds, maxAgeSeconds: ACTIVITY_HEARTBEAT_THRESHOLD_SECONDS - 1 });
}

const HEARTBEAT_CAUSES: Partial<Record<NeighbourReason, ActivityCannotJudge>> = {
  missing: "heartbeat-missing",
  empty: "heartbeat-empty",
  "not-a-timestamp": "heartbeat-not-a-timestamp",
  unreadable: "heartbeat-unreadable",
  timeout: "timeout",
};

const wholeNumber = (text: string): number | null => (/^\d{1,15}$/.test(text) ? Number(text) : null);

/** The ac file as upstream and hb write it: `suspect:latest:checkTime`, latest empty when no volume could be stat'ed. */
const AC_FORMAT = /^(\d{1,15}):(\d{0,15}):(\d{0,15})$/;

/**
 * Steps 3–5 of kvmvmactivity.sh, from the facts the storage gave: the newest volume mtime and
 * the previous `ac-<host>` (`suspect:latest:checkTime`). A missing update time (no volume could
 * be stat'ed last time) is read as the previous check's time, which is what upstream's word
 * splitting ends up doing. No volume to stat now means no activity (upstream: an empty number is
 * 0). Activity is evidence of life whatever else is wrong; no activity is evidence of death only
 * when every volume could be stat'ed and the ac file is one hb or upstream wrote (upstream's
 * `expr` fails on anything else and its first line is the error).
 */
export function decideDiskActivity(input: {
  readonly suspectTime: number;
  readonly latestUpdate: number | null;
  readonly previousAc: string | null;
  readonly acFileForMessages: string;
  /** Volumes that could not be stat'ed: each might have been written. */
  readonly unstatedVolumes?: number;
}): DiskActivityDecision {
  const latest = input.latestUpdate ?? 0;
  const acFile = input.acFileForMessages;
  const base = { decided: true, latestUpdate: input.latestUpdate } as const;
  const ac = input.previousAc === null ? null : AC_FORMAT.exec(input.previousAc.trim());
  const notJudged = (): Omit<ActivityNotJudged, "heartbeatAgeSeconds"> | null => {
    if (input.previousAc !== null && ac === null) {
      const text = input.previousAc.trim();
      return { decided: false, cause: "ac-not-understood", reason: `the ac file does not hold suspect:update:time (${JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text)}) and no volume changed after the suspect time` };
    }
    if ((input.unstatedVolumes ?? 0) > 0) return { decided: false, cause: "volumes-unreadable", reason: `${input.unstatedVolumes} volume(s) could not be stat'ed and the others show no new activity` };
    return null;
  };
  if (ac === null) {
    if (latest > input.suspectTime) return { ...base, verdict: "alive", reason: "activity-after-suspect", line: ALIVE_LINE, comparedWith: input.suspectTime };
    return (
      notJudged() ?? {
        ...base,
        verdict: "dead",
        reason: "no-ac-file",
        comparedWith: input.suspectTime,
        line: `=====> Considering host as DEAD due to file [${acFile}] does not exists and condition [latestUpdateTime -gt SuspectTime] has not been satisfied. <======`,
      }
    );
  }
  if (input.suspectTime - Number(ac[1]) < 0) {
    if (latest > input.suspectTime) return { ...base, verdict: "alive", reason: "activity-after-suspect", line: ALIVE_LINE, comparedWith: input.suspectTime };
    return (
      notJudged() ?? {
        ...base,
        verdict: "dead",
        reason: "earlier-suspect",
        comparedWith: input.suspectTime,
        line: `=====> Considering host as DEAD due to file [${acFile}] exist, condition [suspectTimeDiff -lt 0] was satisfied and [latestUpdateTime -gt SuspectTime] has not been satisfied. <======`,
      }
    );
  }
  const lastUpdate = wholeNumber(ac[2] ?? "") ?? wholeNumber(ac[3] ?? "") ?? input.suspectTime;
  if (latest > lastUpdate) return { ...base, verdict: "alive", reason: "activity-since-last-check", line: ALIVE_LINE, comparedWith: lastUpdate };
  return (
    notJudged() ?? {
      ...base,
      verdict: "dead",
      reason: "no-new-activity",
      comparedWith: lastUpdate,
      line: `=====> Considering host as DEAD due to file [${acFile}] exist and conditions [suspectTimeDiff -lt 0] and [latestUpdateTime -gt SuspectTime] have not been satisfied. <======`,
    }
  );
}

/**
 * Errors that say the volume is not there: upstream discards stat's error, so such a volume
 * counts as not written (its mtime an empty number, 0). The heartbeat and KVMHA/ were readable
 * just before, so the pool answers; ENOTDIR is a path through a file, which does not exist either.
 */
const ABSENT_VOLUME_CODES = new Set(["ENOENT", "ENOTDIR"]);

/**
 * Volumes whose mtime hb could not see though they may exist (EIO, ELOOP, EACCES…): each might
 * have been written, so "no activity" cannot be judged while there is one.
 */
function unstatedVolumes(reply: ActivityReply): number {
  if (reply.statErrorCodes === undefined) return reply.statErrors ?? 0;
  return reply.statErrorCodes.filter((code) => !ABSENT_VOLUME_CODES.has(code)).length;
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
  const heartbeat = judgeActivityHeartbeat(read, options.nowEpochSeconds);
  if (heartbeat.verdict === "alive") {
    return { decided: true, verdict: "alive", reason: "heartbeat", line: ALIVE_LINE, heartbeatAgeSeconds: heartbeat.ageSeconds, latestUpdate: null, comparedWith: null };
  }
  if (heartbeat.verdict === "undecided") {
    return { decided: false, cause: HEARTBEAT_CAUSES[heartbeat.reason] ?? "heartbeat-unreadable", reason: heartbeat.message, heartbeatAgeSeconds: null };
  }
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
  if (reply === null) return { decided: false, cause: exec.timedOut ? "timeout" : "storage-error", reason: describeNoReply(exec, deadlineMs, options.signal), heartbeatAgeSeconds: heartbeat.ageSeconds };
  if (!reply.ok) {
    // EFTYPE, EFBIG: the worker's own refusals (a planted FIFO, device, link or folder; too big), whose message says it all.
    const detail = reply.code === "EFTYPE" || reply.code === "EFBIG" ? (reply.message ?? reply.code) : `${reply.code ?? ""} ${reply.message ?? ""}`.trim();
    return { decided: false, cause: "ac-unreadable", reason: `cannot read the ac file: ${detail}`, heartbeatAgeSeconds: heartbeat.ageSeconds };
  }
  const decision = decideDiskActivity({
    suspectTime: options.suspectTime,
    latestUpdate: reply.latest ?? null,
    previousAc: reply.previous ?? null,
    acFileForMessages: upstreamPaths.activity(options.mountPoint, host),
    unstatedVolumes: unstatedVolumes(reply),
  });
  return { ...decision, heartbeatAgeSeconds: heartbeat.ageSeconds };
}
