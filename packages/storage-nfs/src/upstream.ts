import type { NeighbourVerdict } from "./heartbeat.js";

/**
 * The lines upstream's scripts print, which the agent judges: a check is DEAD only when the
 * script exits 0 and its first line contains "DEAD". Kept verbatim, `<======` included.
 */
export const ALIVE_LINE = "=====> ALIVE <=====";

/** kvmheartbeat.sh, remount failure (exit 1). */
export const remountFailedLine = (server: string, exportPath: string, mountPoint: string) => `Failed to remount ${server}:${exportPath} under ${mountPoint}`;

/** kvmheartbeat.sh, the heartbeat file cannot be created (exit 2). */
export const failedToCreateLine = (file: string) => `Failed to create ${file}`;

/**
 * hb's first line when it cannot judge a host: it never contains DEAD, so the agent reads the
 * check as ALIVE, as it does with upstream, whose first line in these cases is an error message
 * (`cat: …: No such file or directory`, `expr: syntax error…`). The reason goes on the line only
 * when it is one plain line without DEAD in any case (a path or a garbage file could hold it).
 */
export function cannotJudgeLine(reason: string): string {
  return /dead|[\r\n]/i.test(reason) || reason === "" ? "=====> CANNOT JUDGE <=====" : `=====> CANNOT JUDGE: ${reason} <=====`;
}

/**
 * kvmheartbeat.sh -r: ALIVE, the DEAD line for a stale file (upstream's own words with the true
 * age; upstream printed age mod 256), or hb's cannot-judge line for a missing, empty,
 * non-numeric or unreadable file and a read past its deadline.
 */
export function neighbourLine(verdict: NeighbourVerdict, file: string, intervalSeconds: number): string {
  switch (verdict.verdict) {
    case "alive":
      return ALIVE_LINE;
    case "dead":
      return `=====> Considering host as DEAD because last write on [${file}] was [${verdict.ageSeconds}] seconds ago, but the max interval is [${intervalSeconds}] <======`;
    case "undecided":
      return cannotJudgeLine(verdict.message);
  }
}
