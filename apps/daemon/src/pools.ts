import type { Executor } from "@hb/core";
import { HbError, poolIdOf, type PoolSpec } from "@hb/config";

/** virsh is not installed (or cannot start): this host has no libvirt pools to discover. */
export class LibvirtUnavailableError extends HbError {
  constructor(message: string) {
    super("LIBVIRT_UNAVAILABLE", message);
  }
}

// hb.pools is read by @hb/config (hb config validate reports what hbd skips); hbd takes it from there.
export { parseDeclaredPools, type PoolProblem, type PoolSpec } from "@hb/config";

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
