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
 * kvmheartbeat.sh -r: ALIVE, or the DEAD line. A stale file gets upstream's own words with the
 * true age (upstream printed age mod 256); a missing, empty, non-numeric or unreadable file,
 * which upstream reported ALIVE, gets a DEAD line of its own in the same form.
 */
export function neighbourLine(verdict: NeighbourVerdict, file: string, intervalSeconds: number): string {
  if (verdict.verdict !== "dead") return ALIVE_LINE;
  switch (verdict.reason) {
    case "stale":
      return `=====> Considering host as DEAD because last write on [${file}] was [${verdict.ageSeconds}] seconds ago, but the max interval is [${intervalSeconds}] <======`;
    case "missing":
      return `=====> Considering host as DEAD because heartbeat file [${file}] does not exist <======`;
    case "empty":
      return `=====> Considering host as DEAD because heartbeat file [${file}] is empty <======`;
    case "not-a-timestamp":
      return `=====> Considering host as DEAD because heartbeat file [${file}] does not hold a timestamp <======`;
    default:
      return `=====> Considering host as DEAD because heartbeat file [${file}] cannot be read (${verdict.detail ?? "error"}) <======`;
  }
}
