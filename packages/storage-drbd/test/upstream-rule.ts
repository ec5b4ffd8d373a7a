/**
 * Upstream's LINSTOR health rules (LinstorStoragePool.java, reference §4.1), restated to compare
 * hb against them on the same fixtures. Not used by hb itself.
 */

/** Self check: unhealthy iff a line matches `.*role:Primary .* promotion_score:0.*` (Java String.matches). */
export function upstreamSelfHealthy(events2: string): boolean {
  return !events2.split("\n").some((line) => /^.*role:Primary .* promotion_score:0.*$/.test(line));
}

/** Neighbour check: alive iff some resource has a connection named exactly `node` in state Connected (any case); a JSON error is dead. */
export function upstreamPeerAlive(statusJson: string, node: string): boolean {
  let resources: unknown;
  try {
    resources = JSON.parse(statusJson);
  } catch {
    return false;
  }
  if (!Array.isArray(resources)) return false;
  return resources.some((resource: { connections?: { name?: string; "connection-state"?: string }[] }) =>
    (resource.connections ?? []).some((connection) => connection.name === node && connection["connection-state"]?.toLowerCase() === "connected"),
  );
}
