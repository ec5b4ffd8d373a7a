import { basename } from "node:path";

/** One storage pool hbd keeps a heartbeat for. */
export type PoolSpec =
  | { readonly kind: "nfs"; readonly id: string; readonly mountPoint: string; readonly server?: string; readonly export?: string; readonly source: "declared" | "libvirt" }
  /** A SharedMountPoint pool: a cluster filesystem mounted at mountPoint, never remounted by hb. */
  | { readonly kind: "smp"; readonly id: string; readonly mountPoint: string; readonly source: "declared" | "libvirt" }
  | { readonly kind: "linstor"; readonly id: string; readonly source: "declared" };

export interface PoolProblem {
  readonly entry: string;
  readonly message: string;
}

/**
 * `hb.pools`: entries separated by `;` (blanks around them ignored):
 *   nfs:MOUNT                    heartbeat in MOUNT/KVMHA; the mount is checked, never remounted
 *   nfs:MOUNT@SERVER:EXPORT      the same, remounted from SERVER:EXPORT when missing (upstream's options)
 *   smp:PATH                     SharedMountPoint: heartbeat in PATH/KVMHA on the cluster filesystem there
 *   linstor:NAME                 the DRBD/LINSTOR health of this host, as target NAME
 * A bad entry is reported and skipped; the others are kept. One rule for hbd and
 * `hb config validate`, so that validate reports every entry hbd skips.
 */
export function parseDeclaredPools(value: string | null): { pools: PoolSpec[]; problems: PoolProblem[] } {
  const pools: PoolSpec[] = [];
  const problems: PoolProblem[] = [];
  for (const raw of (value ?? "").split(";")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const colon = entry.indexOf(":");
    const kind = colon < 0 ? "" : entry.slice(0, colon);
    const rest = colon < 0 ? "" : entry.slice(colon + 1);
    if (kind === "nfs") {
      const at = rest.indexOf("@");
      const mountPoint = at < 0 ? rest : rest.slice(0, at);
      if (!mountPoint.startsWith("/") || mountPoint.includes("..")) {
        problems.push({ entry, message: "the mount point must be an absolute path without .." });
        continue;
      }
      if (at < 0) {
        pools.push({ kind: "nfs", id: poolIdOf(mountPoint), mountPoint, source: "declared" });
        continue;
      }
      const remote = rest.slice(at + 1);
      const split = remote.indexOf(":");
      const server = split < 0 ? "" : remote.slice(0, split);
      const exportPath = split < 0 ? "" : remote.slice(split + 1);
      if (server === "" || !exportPath.startsWith("/")) {
        problems.push({ entry, message: "expected nfs:MOUNT@SERVER:/EXPORT" });
        continue;
      }
      pools.push({ kind: "nfs", id: poolIdOf(mountPoint), mountPoint, server, export: exportPath, source: "declared" });
    } else if (kind === "smp") {
      if (!rest.startsWith("/") || rest.includes("..")) {
        problems.push({ entry, message: "expected smp:PATH, an absolute path without .." });
        continue;
      }
      pools.push({ kind: "smp", id: poolIdOf(rest), mountPoint: rest, source: "declared" });
    } else if (kind === "linstor" || kind === "drbd") {
      if (!/^[A-Za-z0-9_.-]+$/.test(rest)) {
        problems.push({ entry, message: "expected linstor:NAME (letters, digits, _ . -)" });
        continue;
      }
      pools.push({ kind: "linstor", id: rest, source: "declared" });
    } else {
      problems.push({ entry, message: "unknown pool type (nfs:…, smp:… or linstor:…)" });
    }
  }
  const seen = new Set<string>();
  return {
    pools: pools.filter((pool) => {
      if (seen.has(pool.id)) {
        problems.push({ entry: pool.id, message: "declared twice; the first one is kept" });
        return false;
      }
      seen.add(pool.id);
      return true;
    }),
    problems,
  };
}

/** The agent mounts NFS pools at <mount.path>/<pool uuid>: the folder name is the pool's id. */
export function poolIdOf(mountPoint: string): string {
  return basename(mountPoint.replace(/\/+$/, "")) || mountPoint;
}
