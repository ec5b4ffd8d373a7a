import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { constants, existsSync, readFileSync } from "node:fs";
import { access, mkdir, mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * A real FUSE mount whose operations can be delayed, hung in the kernel or failed, served by
 * `faultfs.py` (Debian python3-fusepy). A hung operation blocks its caller exactly as a write
 * on a hung NFS hard mount does: once killed the caller stays in D state until released.
 *
 * The test process must never stat or list the mount point while a fault is set: it would
 * block in the kernel too. Everything here learns about the mount from /proc/self/mountinfo.
 */

export const FAULTFS_SCRIPT = fileURLToPath(new URL("../faultfs.py", import.meta.url));
/** Upstream kvmheartbeat.sh's write mode (`upstream-write.sh MOUNT_POINT HOST_IP`), to measure beside hb. */
export const UPSTREAM_WRITE_SCRIPT = fileURLToPath(new URL("../upstream-write.sh", import.meta.url));
const PYTHON = "/usr/bin/python3";
const FUSECTL = "/sys/fs/fuse/connections";

/** Operations faultfs can fault. Unlisted ones (getattr, readdir, read…) pass through untouched by default. */
export type FaultOp =
  | "write"
  | "create"
  | "open"
  | "flush"
  | "fsync"
  | "fsyncdir"
  | "truncate"
  | "read"
  | "getattr"
  | "readdir"
  | "mkdir"
  | "rmdir"
  | "unlink"
  | "rename"
  | "release"
  | "opendir"
  | "releasedir"
  | "access"
  | "utimens"
  | "statfs"
  /** Every operation. */
  | "*";

export interface Fault {
  /** Sleep before each faulted operation. */
  readonly delayMs?: number;
  /** Hold each faulted operation until the fault is lifted. */
  readonly hang?: boolean;
  /** Fail each faulted operation with this errno (5 = EIO). */
  readonly errno?: number;
  /** Which operations; default write, create, open, flush, fsync, truncate. */
  readonly ops?: readonly FaultOp[];
}

export interface FaultFs {
  /** Where the filesystem is mounted. Touch it only from child processes while a fault is set. */
  readonly mountPoint: string;
  /** The folder behind the mount: read it freely to see what reached "the server". */
  readonly backingDir: string;
  /** Set the fault for every following operation; `{}` lifts it (held operations are released). */
  setFault(fault: Fault): Promise<void>;
  /** Operations held by `hang` right now. */
  held(): number;
  /**
   * Operations that reached the filesystem since it was mounted, faulted or not: the total and
   * per operation (getattr, open, write…). Take the difference around what you measure.
   */
  operations(): OperationCount;
  /** Resolves once `count` operations are held; rejects after timeoutMs. */
  waitForHeld(count: number, timeoutMs?: number): Promise<void>;
  /**
   * Lift every fault, abort the FUSE connection (releasing D-state callers), unmount, stop the
   * server and delete the folders. Safe to call twice; never blocks on the hung mount.
   */
  unmount(): Promise<void>;
}

export interface OperationCount {
  readonly total: number;
  readonly byOp: Readonly<Record<string, number>>;
}

export interface MountFaultFsOptions {
  /**
   * No attribute or name caching in the kernel, as an NFS client mounted with upstream's `noac`:
   * every lookup and stat reaches the filesystem, so operations() counts the round trips.
   */
  readonly noac?: boolean;
  /** Fault in force from the first operation on. */
  readonly fault?: Fault;
  /** Files to place in the backing folder before mounting (relative path → content). */
  readonly files?: Readonly<Record<string, string>>;
  readonly readyTimeoutMs?: number;
}

let unavailableReason: string | null | undefined;

/** Why faultfs cannot run here (not root, no /dev/fuse, no fusepy), or null when it can. */
export function faultFsUnavailableReason(): string | null {
  if (unavailableReason === undefined) unavailableReason = probeFaultFs();
  return unavailableReason;
}

function probeFaultFs(): string | null {
  if (process.platform !== "linux") return `FUSE tests need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "FUSE tests need root (mount without fusermount, fusectl abort)";
  if (!existsSync("/dev/fuse")) return "FUSE tests need /dev/fuse";
  if (!existsSync(PYTHON)) return `FUSE tests need ${PYTHON}`;
  const probe = spawnSync(PYTHON, ["-c", "import fusepy"], { stdio: "ignore", timeout: 10_000 });
  if (probe.status !== 0) return "FUSE tests need Debian's python3-fusepy (apt-get install python3-fusepy fuse3)";
  return null;
}

/** Mount a fresh faultfs in a temporary folder. */
export async function mountFaultFs(options: MountFaultFsOptions = {}): Promise<FaultFs> {
  const unavailable = faultFsUnavailableReason();
  if (unavailable !== null) throw new Error(unavailable);
  const root = await mkdtemp(join(tmpdir(), "hb-faultfs-"));
  const backingDir = join(root, "backing");
  const mountPoint = join(root, "mnt");
  const controlFile = join(root, "control.json");
  await mkdir(backingDir);
  await mkdir(mountPoint);
  for (const [path, content] of Object.entries(options.files ?? {})) {
    await mkdir(join(backingDir, path, ".."), { recursive: true });
    await writeFile(join(backingDir, path), content);
  }
  await writeControl(controlFile, options.fault ?? {});

  const server = spawn(PYTHON, [FAULTFS_SCRIPT, backingDir, mountPoint, controlFile, ...(options.noac === true ? ["--noac"] : [])], { stdio: ["ignore", "ignore", "pipe"] });
  let serverLog = "";
  server.stderr?.on("data", (chunk: Buffer) => void (serverLog += chunk.toString()));
  const exited = new Promise<void>((resolve) => server.once("exit", () => resolve()));

  const deadline = performance.now() + (options.readyTimeoutMs ?? 10_000);
  while (fuseDevice(mountPoint) === null) {
    if (server.exitCode !== null || server.signalCode !== null || performance.now() > deadline) {
      server.kill("SIGKILL");
      await rm(root, { recursive: true, force: true });
      throw new Error(`faultfs did not mount at ${mountPoint}: ${serverLog.trim() || "no output"}`);
    }
    await sleep(10);
  }

  let unmounted = false;
  const held = () => readHeld(controlFile);
  return {
    mountPoint,
    backingDir,
    setFault: (fault) => writeControl(controlFile, fault),
    held,
    operations: () => readOperations(controlFile),
    async waitForHeld(count, timeoutMs = 10_000) {
      const until = performance.now() + timeoutMs;
      while (held() < count) {
        if (performance.now() > until) throw new Error(`faultfs: ${held()} operations held after ${timeoutMs} ms, expected ${count}`);
        await sleep(10);
      }
    },
    async unmount() {
      if (unmounted) return;
      unmounted = true;
      await writeControl(controlFile, {});
      await teardown(mountPoint, server, exited);
      if (fuseDevice(mountPoint) !== null) throw new Error(`faultfs: ${mountPoint} is still mounted; left ${root} in place`);
      await rm(root, { recursive: true, force: true });
    },
  };
}

async function teardown(mountPoint: string, server: ChildProcess, exited: Promise<void>): Promise<void> {
  const device = fuseDevice(mountPoint);
  if (device !== null) {
    // Abort first: every pending request fails at once, so umount cannot wait on a held one.
    await abortConnection(device);
    const umount = spawnSync("umount", [mountPoint], { stdio: "ignore", timeout: 5_000 });
    if (umount.status !== 0) spawnSync("umount", ["-l", mountPoint], { stdio: "ignore", timeout: 5_000 });
  }
  if (server.exitCode === null && server.signalCode === null) server.kill("SIGTERM");
  const stopped = await Promise.race([exited.then(() => true), sleep(2_000).then(() => false)]);
  if (!stopped) {
    server.kill("SIGKILL");
    await Promise.race([exited, sleep(2_000)]);
  }
}

async function abortConnection(device: string): Promise<void> {
  const abort = join(FUSECTL, device, "abort");
  if (!existsSync(abort)) {
    // fusectl is usually mounted by systemd; left mounted here too, since other test files may use it.
    spawnSync("mount", ["-t", "fusectl", "fusectl", FUSECTL], { stdio: "ignore", timeout: 5_000 });
  }
  try {
    await access(abort, constants.W_OK);
    await writeFile(abort, "1");
  } catch {
    // Already gone with its mount: nothing left to abort.
  }
}

/** The FUSE connection (minor device number) of a mount, from mountinfo; null when not mounted. */
export function fuseDevice(mountPoint: string): string | null {
  const table = readFileSync("/proc/self/mountinfo", "utf8");
  for (const line of table.split("\n")) {
    const fields = line.split(" ");
    if (unescapeMountField(fields[4] ?? "") !== mountPoint) continue;
    const separator = fields.indexOf("-");
    if (separator < 0 || !(fields[separator + 1] ?? "").startsWith("fuse")) continue;
    return (fields[2] ?? "").split(":")[1] ?? null;
  }
  return null;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

async function writeControl(controlFile: string, fault: Fault): Promise<void> {
  const temporary = `${controlFile}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify(fault));
  await rename(temporary, controlFile);
}

function readOperations(controlFile: string): OperationCount {
  try {
    const state = JSON.parse(readFileSync(`${controlFile}.state`, "utf8")) as { total?: unknown; ops?: unknown };
    const byOp = typeof state.ops === "object" && state.ops !== null ? (state.ops as Record<string, number>) : {};
    return { total: typeof state.total === "number" ? state.total : 0, byOp };
  } catch {
    return { total: 0, byOp: {} };
  }
}

function readHeld(controlFile: string): number {
  try {
    const state = JSON.parse(readFileSync(`${controlFile}.state`, "utf8")) as { held?: unknown };
    return typeof state.held === "number" ? state.held : 0;
  } catch {
    return 0;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
