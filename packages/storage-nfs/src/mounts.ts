import { readFile } from "node:fs/promises";
import { HbError } from "@hb/config";
import type { Executor } from "@hb/core";
import { validateMountPoint } from "./paths.js";

export interface MountEntry {
  readonly source: string;
  readonly target: string;
  readonly type: string;
  readonly options: readonly string[];
}

/** The mount table cannot be read: hb cannot tell whether the pool is mounted. */
export class MountTableError extends HbError {
  /** The errno name of the failed read (EMFILE, ENOENT…), when there is one. */
  readonly errno: string | undefined;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super("MOUNT_TABLE", `cannot read the mount table ${file}: ${reason}`, options);
    const code = (options?.cause as { code?: unknown } | undefined)?.code;
    this.errno = typeof code === "string" ? code : undefined;
  }
}

/** Remounting the pool failed, or the mount did not show up in the mount table afterwards. */
export class RemountError extends HbError {
  readonly server: string;
  readonly exportPath: string;
  readonly mountPoint: string;
  constructor(server: string, exportPath: string, mountPoint: string, reason: string) {
    super("REMOUNT_FAILED", `failed to remount ${server}:${exportPath} under ${mountPoint}: ${reason}`);
    this.server = server;
    this.exportPath = exportPath;
    this.mountPoint = mountPoint;
  }
}

// /proc/mounts escapes space, tab, newline and backslash as \ooo.
const unescapeField = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));

/** `/proc/self/mounts` (fstab format): one entry per line, escaped fields. Malformed lines are skipped. */
export function parseMountTable(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split("\n")) {
    const fields = line.trim().split(/[ \t]+/);
    if (fields.length < 4 || fields[0]?.startsWith("#")) continue;
    const [source, target, type, options] = fields as [string, string, string, string];
    entries.push({ source: unescapeField(source), target: unescapeField(target), type, options: options.split(",") });
  }
  return entries;
}

/**
 * NFS mount types. `fuse.*nfs*` covers userspace NFS clients (fuse-nfs), which upstream's
 * `grep nfs` also counts.
 */
export function isNfsType(type: string): boolean {
  return type === "nfs" || type === "nfs4" || (type.startsWith("fuse.") && type.includes("nfs"));
}

/**
 * The NFS mount at exactly this path, or undefined. Upstream greps the table for "nfs" and the
 * path as substrings, so /mnt/pool also "matched" /mnt/pool2 or a path merely containing it. The
 * last matching entry wins, as the kernel shows the topmost mount last.
 */
export function findNfsMount(entries: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  const wanted = validateMountPoint(mountPoint);
  return entries.findLast((entry) => entry.target === wanted && isNfsType(entry.type));
}

/** Read and parse the mount table. Local procfs (or a test file): never shared storage. */
export async function readMountTable(file: string): Promise<MountEntry[]> {
  try {
    return parseMountTable(await readFile(file, "utf8"));
  } catch (error) {
    throw new MountTableError(file, (error as Error).message, { cause: error });
  }
}

/** Upstream's current options (kvmheartbeat.sh in main; older releases added timeo=133,retrans=10). */
export const UPSTREAM_MOUNT_OPTIONS = "sync,soft,proto=tcp,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,noac";

export interface EnsureMountedOptions {
  readonly executor: Executor;
  readonly server: string;
  readonly exportPath: string;
  readonly mountPoint: string;
  /** The mount table to consult (`hb.mounts.file`, default /proc/self/mounts). */
  readonly mountsFile: string;
  /** Deadline of the mount command. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** The mount program (found on PATH unless a path is given). */
  readonly mountProgram?: string;
  readonly mountOptions?: string;
}

export type MountState = { readonly state: "mounted"; readonly entry: MountEntry } | { readonly state: "remounted"; readonly entry: MountEntry };

/**
 * Upstream's mount handling: when the pool is not an NFS mount at its mount point, mount it
 * with upstream's options. Then read the mount table again: a mount that exited 0 but did
 * nothing would put the heartbeat on the local disk under the mount point, a false success.
 */
export async function ensureMounted(options: EnsureMountedOptions): Promise<MountState> {
  const mountPoint = validateMountPoint(options.mountPoint);
  const present = findNfsMount(await readMountTable(options.mountsFile), mountPoint);
  if (present !== undefined) return { state: "mounted", entry: present };

  const fail = (reason: string) => new RemountError(options.server, options.exportPath, mountPoint, reason);
  if (options.server === "" || /[\s\0]/.test(options.server)) throw fail("no valid NFS server given");
  if (!options.exportPath.startsWith("/") || /[\0\n]/.test(options.exportPath)) throw fail("the export path is not an absolute path");
  const exec = await options.executor.run({
    file: options.mountProgram ?? "mount",
    args: [`${options.server}:${options.exportPath}`, mountPoint, "-o", options.mountOptions ?? UPSTREAM_MOUNT_OPTIONS],
    deadlineMs: options.deadlineMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (exec.timedOut) throw fail(`mount did not finish within ${options.deadlineMs} ms`);
  if (exec.exitCode !== 0) throw fail(`mount exited with ${exec.exitCode ?? exec.signal ?? "?"}${exec.stderr.trim() === "" ? "" : `: ${exec.stderr.trim().split("\n")[0]}`}`);
  const mounted = findNfsMount(await readMountTable(options.mountsFile), mountPoint);
  if (mounted === undefined) throw fail(`mount exited 0 but ${options.mountsFile} shows no NFS mount at ${mountPoint}`);
  return { state: "remounted", entry: mounted };
}
