import type { Executor } from "@hb/core";
import { HbError } from "@hb/config";

/** virsh is not installed (or cannot start): this host has no libvirt pools to discover. */
export class LibvirtUnavailableError extends HbError {
  constructor(message: string) {
    super("LIBVIRT_UNAVAILABLE", message);
  }
}
import { basename } from "node:path";

/** One storage pool hbd keeps a heartbeat for. */
export type PoolSpec =
  | { readonly kind: "nfs"; readonly id: string; readonly mountPoint: string; readonly server?: string; readonly export?: string; readonly source: "declared" | "libvirt" }
  | { readonly kind: "linstor"; readonly id: string; readonly source: "declared" };

export interface PoolProblem {
  readonly entry: string;
  readonly message: string;
}

/**
 * `hb.pools`: entries separated by `;` (blanks around them ignored):
 *   nfs:MOUNT                    heartbeat in MOUNT/KVMHA; the mount is checked, never remounted
 *   nfs:MOUNT@SERVER:EXPORT      the same, remounted from SERVER:EXPORT when missing (upstream's options)
 *   linstor:NAME                 the DRBD/LINSTOR health of this host, as target NAME
 * A bad entry is reported and skipped; the others are kept.
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
    } else if (kind === "linstor" || kind === "drbd") {
      if (!/^[A-Za-z0-9_.-]+$/.test(rest)) {
        problems.push({ entry, message: "expected linstor:NAME (letters, digits, _ . -)" });
        continue;
      }
      pools.push({ kind: "linstor", id: rest, source: "declared" });
    } else {
      problems.push({ entry, message: "unknown pool type (nfs:… or linstor:…)" });
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
function poolIdOf(mountPoint: string): string {
  return basename(mountPoint.replace(/\/+$/, "")) || mountPoint;
}

/**
 * The agent's view of its HA pools: libvirt's active storage pools of type netfs (NFS). A
 * folder under mount.path alone proves nothing (secondary storage is mounted there too).
 */
export async function discoverLibvirtPools(executor: Executor, deadlineMs: number): Promise<PoolSpec[]> {
  const virsh = (args: string[]) => executor.run({ file: "virsh", args: ["-c", "qemu:///system", ...args], deadlineMs });
  const list = await virsh(["pool-list", "--name"]);
  // Not started at all: only a virsh that is not there (or not executable) means no libvirt.
  // hb's own EMFILE, EAGAIN or ENOMEM says nothing about libvirt: retried, pools kept.
  if (list.exitCode === null && !list.timedOut) {
    const code = list.spawnError ?? /\b(E[A-Z]+)\b/.exec(list.stderr)?.[1];
    if (code === "ENOENT" || code === "EACCES") throw new LibvirtUnavailableError(`virsh cannot be run: ${list.stderr.trim() || "not found on PATH"}`);
    throw new Error(`virsh could not be started (${code ?? list.stderr.trim()}: hb's own fault, not libvirt's)`);
  }
  if (list.timedOut || list.exitCode !== 0) throw new Error(`virsh pool-list ${list.timedOut ? "timed out" : `exited ${list.exitCode}: ${list.stderr.trim()}`}`);
  const names = list.stdout.split("\n").map((name) => name.trim()).filter(Boolean);
  const pools: PoolSpec[] = [];
  for (const name of names) {
    const xml = await virsh(["pool-dumpxml", name]);
    if (xml.timedOut || xml.exitCode !== 0) throw new Error(`virsh pool-dumpxml ${name} ${xml.timedOut ? "timed out" : xml.exitCode === null ? `could not be started (${xml.spawnError ?? xml.stderr.trim()})` : `exited ${xml.exitCode}`}`);
    const pool = parsePoolXml(xml.stdout);
    if (pool !== undefined) pools.push(pool);
  }
  return pools;
}

/** An NFS pool from `virsh pool-dumpxml`, or undefined for any other type. */
export function parsePoolXml(xml: string): PoolSpec | undefined {
  const type = /<pool\s[^>]*type=['"]([^'"]+)['"]/.exec(xml)?.[1];
  if (type !== "netfs") return undefined;
  const source = /<source>([\s\S]*?)<\/source>/.exec(xml)?.[1] ?? "";
  const format = /<format\s[^>]*type=['"]([^'"]+)['"]/.exec(source)?.[1] ?? "nfs";
  if (format !== "nfs" && format !== "auto") return undefined;
  const server = /<host\s[^>]*name=['"]([^'"]+)['"]/.exec(source)?.[1];
  const exportPath = /<dir\s[^>]*path=['"]([^'"]+)['"]/.exec(source)?.[1];
  const target = /<target>[\s\S]*?<path>([^<]+)<\/path>/.exec(xml)?.[1]?.trim();
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1]?.trim();
  if (target === undefined || !target.startsWith("/")) return undefined;
  return {
    kind: "nfs",
    id: uuid ?? poolIdOf(target),
    mountPoint: unescapeXml(target),
    ...(server === undefined ? {} : { server: unescapeXml(server) }),
    ...(exportPath === undefined ? {} : { export: unescapeXml(exportPath) }),
    source: "libvirt",
  };
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}
