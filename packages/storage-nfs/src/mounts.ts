import { readLocalFile } from "@hb/config";
import { HbError } from "@hb/errors";
import type { Executor } from "@hb/core";
import { hasControlCharacter, InvalidMountPointError, validateMountPoint } from "./paths.js";
import { isNfsType, parseMountTable } from "./worker-child.js";

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
    // @hb/config's LocalFileError carries it as errno; a raw system error as code.
    const cause = options?.cause as { code?: unknown; errno?: unknown } | undefined;
    const code = typeof cause?.errno === "string" ? cause.errno : cause?.code;
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

// The table's parser runs in the storage worker too (its mount check before each write): one copy.
export { isNfsType, parseMountTable } from "./worker-child.js";

/**
 * The NFS mount at exactly this path, or undefined. Upstream greps the table for "nfs" and the
 * path as substrings, so /mnt/pool also "matched" /mnt/pool2 or a path merely containing it. The
 * last matching entry wins, as the kernel shows the topmost mount last.
 */
export function findNfsMount(entries: readonly MountEntry[], mountPoint: string): MountEntry | undefined {
  const wanted = validateMountPoint(mountPoint);
  return entries.findLast((entry) => entry.target === wanted && isNfsType(entry.type));
}

/**
 * A table larger than this is refused: tens of thousands of mounts (about 100 bytes a line) fit,
 * and a wrong `hb.mounts.file` (a disk image, /dev/zero) cannot fill the memory.
 */
export const MOUNT_TABLE_MAX_BYTES = 16 * 1024 * 1024;

/**
 * Read and parse the mount table. Local procfs (or a test file): never shared storage. Read
 * through @hb/config's safe reader: a FIFO or device there is refused, not waited on; procfs
 * reports size 0, which the reader's cap handles. Links are followed: /proc/mounts is one, and
 * the table is the system's, not a file hb owns.
 */
export async function readMountTable(file: string): Promise<MountEntry[]> {
  try {
    return parseMountTable((await readLocalFile(file, { maxBytes: MOUNT_TABLE_MAX_BYTES, followLinks: true })).toString("utf8"));
  } catch (error) {
    // The safe reader's own message names the path already: said once.
    const message = (error as Error).message;
    const prefix = `cannot read ${file}: `;
    throw new MountTableError(file, message.startsWith(prefix) ? message.slice(prefix.length) : message, { cause: error });
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

/**
 * A value that would reach mount(8) as something other than what it is: an NFS server or export
 * beginning with "-" (`-obind,remount` is an option), or one with blanks or control characters.
 * Refused before mount runs; a RemountError, so callers treat it as the remount that did not happen.
 */
export class UnsafeMountArgumentError extends RemountError {}

/**
 * Folders hb never mounts a pool over: the root, the system's own trees and their tops. Mounting
 * there would hide the system's files (and whoever chose `-m /etc` meant no pool). Under the
 * first set nothing may be mounted at any depth; the second are refused as themselves only, as
 * pools are commonly mounted below them (/mnt/<uuid>, /var/lib/…).
 */
const SYSTEM_TREES = ["/etc", "/usr", "/boot", "/proc", "/sys", "/dev", "/run", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"];
const SYSTEM_FOLDERS = new Set(["/", "/var", "/var/lib", "/var/log", "/var/run", "/home", "/root", "/tmp", "/var/tmp", "/opt", "/srv", "/mnt", "/media", "/snap"]);

/** The mount point a remount may use: a valid one that is not a system folder (InvalidMountPointError). */
export function validateRemountPoint(mountPoint: string): string {
  const path = validateMountPoint(mountPoint);
  if (SYSTEM_FOLDERS.has(path) || SYSTEM_TREES.some((tree) => path === tree || path.startsWith(`${tree}/`))) {
    throw new InvalidMountPointError(mountPoint, "a system folder: hb never mounts a pool over it");
  }
  return path;
}

/**
 * The NFS server and export as mount(8) takes them (`server:/export`), or UnsafeMountArgumentError.
 * hb also passes "--" before them; the refusal still names the bad value instead of a mount error.
 */
export function validateMountArguments(server: string, exportPath: string, mountPoint: string): void {
  const refuse = (reason: string) => new UnsafeMountArgumentError(server, exportPath, mountPoint, reason);
  if (server === "" || /\s/.test(server) || hasControlCharacter(server)) throw refuse("no valid NFS server given");
  if (server.startsWith("-")) throw refuse(`the NFS server ${JSON.stringify(server)} begins with "-", which mount would read as an option: refused`);
  if (!exportPath.startsWith("/") || hasControlCharacter(exportPath)) throw refuse("the export path is not an absolute path");
}

export type MountState = { readonly state: "mounted"; readonly entry: MountEntry } | { readonly state: "remounted"; readonly entry: MountEntry };

/**
 * Upstream's mount handling: when the pool is not an NFS mount at its mount point, mount it
 * with upstream's options. Then read the mount table again: a mount that exited 0 but did
 * nothing would put the heartbeat on the local disk under the mount point, a false success.
 * Before mount runs: a server or export that mount would read as an option is an
 * UnsafeMountArgumentError, a system folder as the mount point an InvalidMountPointError.
 */
export async function ensureMounted(options: EnsureMountedOptions): Promise<MountState> {
  const mountPoint = validateMountPoint(options.mountPoint);
  const present = findNfsMount(await readMountTable(options.mountsFile), mountPoint);
  if (present !== undefined) return { state: "mounted", entry: present };

  const fail = (reason: string) => new RemountError(options.server, options.exportPath, mountPoint, reason);
  validateMountArguments(options.server, options.exportPath, mountPoint);
  validateRemountPoint(mountPoint);
  const exec = await options.executor.run({
    file: options.mountProgram ?? "mount",
    // Options first, then "--": whatever the values hold, mount(8) reads them as source and target.
    args: ["-o", options.mountOptions ?? UPSTREAM_MOUNT_OPTIONS, "--", `${options.server}:${options.exportPath}`, mountPoint],
    deadlineMs: options.deadlineMs,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (exec.timedOut) throw fail(`mount did not finish within ${options.deadlineMs} ms`);
  if (exec.exitCode !== 0) throw fail(`mount exited with ${exec.exitCode ?? exec.signal ?? "?"}${exec.stderr.trim() === "" ? "" : `: ${exec.stderr.trim().split("\n")[0]}`}`);
  const mounted = findNfsMount(await readMountTable(options.mountsFile), mountPoint);
  if (mounted === undefined) throw fail(`mount exited 0 but ${options.mountsFile} shows no NFS mount at ${mountPoint}`);
  return { state: "remounted", entry: mounted };
}
