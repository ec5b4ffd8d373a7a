// SharedMountPoint pools (kvmsmpheartbeat.sh): a cluster filesystem (GFS2, OCFS2, CephFS,
// GlusterFS…) mounted on every host at the same path. The heartbeat is the NFS one (same file,
// same write, same rules); only the mount check differs: nothing is ever remounted, and a pool
// counts as mounted when the filesystem under its path is a mount of its own that is not local.
import type { AttemptContext, AttemptOutcome, HeartbeatTarget } from "@hb/core";
import { isOwnFaultCode } from "@hb/core/adapters";
import { MountTableError, readMountTable, type MountEntry } from "./mounts.js";
import { validateHostId, validateMountPoint } from "./paths.js";
import { NfsHeartbeatTarget, type NfsTargetOptions } from "./target.js";
import { oneMoreWrite, type WriteCheck, type WriteCheckOptions } from "./write-check.js";

/**
 * Filesystems a heartbeat on which no other host can see: upstream's newer kvmsmpheartbeat.sh
 * refuses the same list. A pool on one of them is not shared, whatever libvirt calls it.
 */
export const LOCAL_FILESYSTEM_TYPES: ReadonlySet<string> = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "zfs", "f2fs", "vfat", "exfat", "ntfs", "ntfs3", "tmpfs", "ramfs", "overlay", "squashfs"]);

const isUnder = (path: string, target: string) => target === "/" || path === target || path.startsWith(`${target}/`);

/**
 * The mount `path` lies on: the entry with the longest target that is `path` or one of its
 * parents; among equal targets the last, as the kernel shows the topmost mount last.
 */
export function findCoveringMount(entries: readonly MountEntry[], path: string): MountEntry | undefined {
  const wanted = validateMountPoint(path);
  let best: MountEntry | undefined;
  for (const entry of entries) {
    if (!isUnder(wanted, entry.target)) continue;
    if (best === undefined || entry.target.length >= best.target.length) best = entry;
  }
  return best;
}

/**
 * Why a heartbeat at `path` would prove nothing to the other hosts, or null when the filesystem
 * under it is a shared one: no mount of its own (the root filesystem: the cluster filesystem is
 * not mounted, and the write would land on the local disk), or a local filesystem type.
 */
export function smpMountProblem(entries: readonly MountEntry[], path: string, mountsFile: string): string | null {
  const entry = findCoveringMount(entries, path);
  if (entry === undefined || entry.target === "/") return `${path} is not on a mounted filesystem (per ${mountsFile}): the cluster filesystem is not mounted there, and a heartbeat would land on the local disk`;
  if (LOCAL_FILESYSTEM_TYPES.has(entry.type)) return `${path} is on ${entry.target}, a local ${entry.type} filesystem (per ${mountsFile}): no other host can see a heartbeat there`;
  return null;
}

/** Reads the mount table and judges `path` by it; a table that cannot be read is a problem too. */
export async function checkSmpMount(mountsFile: string, path: string): Promise<{ readonly ok: true; readonly entry: MountEntry } | { readonly ok: false; readonly reason: string; readonly errno?: string }> {
  let entries: MountEntry[];
  try {
    entries = await readMountTable(mountsFile);
  } catch (error) {
    const errno = error instanceof MountTableError ? error.errno : undefined;
    return { ok: false, reason: (error as Error).message, ...(errno === undefined ? {} : { errno }) };
  }
  const problem = smpMountProblem(entries, path, mountsFile);
  return problem === null ? { ok: true, entry: findCoveringMount(entries, path) as MountEntry } : { ok: false, reason: problem };
}

export interface SmpTargetOptions extends Omit<NfsTargetOptions, "mountsFile"> {
  /** `hb.mounts.file`: checked before every attempt. */
  readonly mountsFile: string;
}

/**
 * One SharedMountPoint pool as a heartbeat target: the NFS target's write (in place, fixed size,
 * fsync, same st_dev), after a check that the cluster filesystem is still mounted under the pool.
 */
export class SmpHeartbeatTarget implements HeartbeatTarget {
  readonly id: string;
  private readonly write: NfsHeartbeatTarget;
  private readonly mountPoint: string;

  constructor(private readonly options: SmpTargetOptions) {
    this.id = options.id;
    this.mountPoint = validateMountPoint(options.mountPoint);
    const { mountsFile: _checkedHere, ...rest } = options;
    this.write = new NfsHeartbeatTarget(rest);
  }

  async attempt(context: AttemptContext): Promise<AttemptOutcome> {
    const mount = await checkSmpMount(this.options.mountsFile, this.mountPoint);
    if (!mount.ok) {
      // Out of descriptors or memory: hb could not look, which says nothing about the pool.
      if (isOwnFaultCode(mount.errno)) return { ok: false, reason: "inconclusive", message: mount.reason, evidence: { code: mount.errno ?? "" } };
      return { ok: false, reason: "error", message: `${mount.reason}: not written` };
    }
    return this.write.attempt(context);
  }

  /** Ends the storage worker kept for this pool. */
  release(): void {
    this.write.release();
  }
}

/** As the NFS check's: the pool's path (-m), this host's id, `hb.mounts.file`, the deadline. */
export type SmpWriteCheckOptions = WriteCheckOptions;

/** hb.fence.verify=storage on a SharedMountPoint pool: one more bounded heartbeat write. */
export async function checkSmpHeartbeatWrite(options: SmpWriteCheckOptions): Promise<WriteCheck> {
  const { mountPoint, hostId, mountsFile } = options;
  if (mountPoint === undefined) return { ok: false, note: "hb.fence.verify=storage: no -m, so no pool to write to" };
  if (hostId === undefined) return { ok: false, note: "hb.fence.verify=storage: no host id for the heartbeat file (set hb.host.ip or private.network.device)" };
  try {
    validateHostId(hostId);
    validateMountPoint(mountPoint);
  } catch (error) {
    return { ok: false, note: `hb.fence.verify=storage: ${(error as Error).message}` };
  }
  const mount = await checkSmpMount(mountsFile, mountPoint);
  if (!mount.ok) return { ok: false, note: `hb.fence.verify=storage: ${mount.reason}, so a write there proves nothing` };
  return oneMoreWrite(options, mountPoint, hostId);
}
