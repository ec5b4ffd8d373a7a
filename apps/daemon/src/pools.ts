import type { Executor } from "@hb/core";
import { HbError, poolIdOf, type PoolSpec } from "@hb/config";
import { readMountTable, smpMountProblem, type MountEntry } from "@hb/storage-nfs";

/** virsh is not installed (or cannot start): this host has no libvirt pools to discover. */
export class LibvirtUnavailableError extends HbError {
  constructor(message: string) {
    super("LIBVIRT_UNAVAILABLE", message);
  }
}

// hb.pools is read by @hb/config (hb config validate reports what hbd skips); hbd takes it from there.
export { parseDeclaredPools, type PoolProblem, type PoolSpec } from "@hb/config";

export interface DiscoveryOptions {
  /** `hb.mounts.file`: tells a SharedMountPoint pool (a cluster filesystem) from local storage. */
  readonly mountsFile?: string;
  /** Ids of the SharedMountPoint pools already watched: kept while libvirt lists them, mounted or not. */
  readonly knownSmp?: ReadonlySet<string>;
}

/**
 * The agent's view of its HA pools: libvirt's active storage pools of type netfs (NFS), and its
 * SharedMountPoint pools. A folder under mount.path alone proves nothing (secondary storage is
 * mounted there too).
 */
export async function discoverLibvirtPools(executor: Executor, deadlineMs: number, options: DiscoveryOptions = {}): Promise<PoolSpec[]> {
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
  return keepSharedDirPools(pools, options);
}

/**
 * The agent defines SharedMountPoint and local storage pools alike, as `dir` pools named by
 * CloudStack's pool uuid: only the filesystem under the path tells them apart. A candidate is
 * kept when a shared (non-local) filesystem is mounted there, or when it is watched already: a
 * cluster filesystem that comes unmounted must fail the heartbeat, not drop the pool.
 */
async function keepSharedDirPools(pools: PoolSpec[], options: DiscoveryOptions): Promise<PoolSpec[]> {
  if (!pools.some((pool) => pool.kind === "smp")) return pools;
  const mountsFile = options.mountsFile ?? "/proc/self/mounts";
  let entries: MountEntry[] | undefined;
  const shared = async (path: string) => {
    entries ??= await readMountTable(mountsFile);
    return smpMountProblem(entries, path, mountsFile) === null;
  };
  const kept: PoolSpec[] = [];
  for (const pool of pools) if (pool.kind !== "smp" || options.knownSmp?.has(pool.id) === true || (await shared(pool.mountPoint))) kept.push(pool);
  return kept;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * A pool from `virsh pool-dumpxml`: an NFS pool (netfs), a SharedMountPoint candidate (a `dir`
 * pool the agent made: named by its uuid, at an absolute path), or undefined for any other.
 */
export function parsePoolXml(xml: string): PoolSpec | undefined {
  const type = /<pool\s[^>]*type=['"]([^'"]+)['"]/.exec(xml)?.[1];
  if (type === "dir") return parseAgentDirPool(xml);
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

function parseAgentDirPool(xml: string): PoolSpec | undefined {
  const name = /<name>([^<]+)<\/name>/.exec(xml)?.[1]?.trim();
  const uuid = /<uuid>([^<]+)<\/uuid>/.exec(xml)?.[1]?.trim();
  const target = /<target>[\s\S]*?<path>([^<]+)<\/path>/.exec(xml)?.[1]?.trim();
  // Pools an operator made by hand (default, images…) have names of their own: not the agent's.
  if (name === undefined || uuid === undefined || !UUID.test(uuid) || name.toLowerCase() !== uuid.toLowerCase()) return undefined;
  if (target === undefined || !target.startsWith("/")) return undefined;
  const mountPoint = unescapeXml(target);
  if (mountPoint.split("/").includes("..")) return undefined;
  return { kind: "smp", id: uuid, mountPoint, source: "libvirt" };
}

function unescapeXml(text: string): string {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");
}
