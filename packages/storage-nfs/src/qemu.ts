import { HbError } from "@hb/errors";
import { validateMountPoint } from "./paths.js";
import { describeNoReply, runWorker, type QemuReply, type StorageCallOptions } from "./worker.js";

export interface QemuProcess {
  readonly pid: number;
  readonly argv: readonly string[];
}

/** The process table could not be read in time: the caller cannot know which VMs use the pool. */
export class ProcessDiscoveryError extends HbError {
  constructor(reason: string) {
    super("PROCESS_DISCOVERY", `cannot list qemu processes: ${reason}`);
  }
}

// Characters that may sit right before a path inside a qemu argument: option separators
// (`file=`, `,`), JSON quotes (-blockdev '{"filename":"…"}'), `file:` protocol prefixes.
const BEFORE_PATH = new Set(["", "=", ",", '"', "'", ":", " "]);
// …and right after the mount point when the path goes on or ends.
const AFTER_PATH = new Set(["", "/", ",", '"', "'", " "]);

/**
 * Whether a command line uses a path on the mount: an argument holds the mount point as a whole
 * path, followed by `/` or the end of the path. Upstream's `grep "$mountPoint"` also matched
 * /mnt/pool2 for /mnt/pool, or any argument merely containing the text.
 */
export function commandLineUsesMount(argv: readonly string[], mountPoint: string): boolean {
  const mount = validateMountPoint(mountPoint);
  // qemu doubles a comma inside an option value.
  const spellings = mount.includes(",") ? [mount, mount.replaceAll(",", ",,")] : [mount];
  for (const argument of argv) {
    for (const spelling of spellings) {
      let from = argument.indexOf(spelling);
      while (from >= 0) {
        const before = from === 0 ? "" : (argument[from - 1] as string);
        const after = argument[from + spelling.length] ?? "";
        if (BEFORE_PATH.has(before) && AFTER_PATH.has(after)) return true;
        from = argument.indexOf(spelling, from + 1);
      }
    }
  }
  return false;
}

export interface FindQemuOptions extends StorageCallOptions {
  readonly mountPoint: string;
  /** Where to read `<pid>/cmdline` (default /proc; a folder of fake processes in tests). */
  readonly procRoot?: string;
}

/**
 * The qemu processes whose command line uses the mount (the split-brain guard's question). The
 * command lines are read in a child process under the deadline: reading /proc/PID/cmdline
 * takes the process's mmap lock, which a qemu stuck on the lost storage may hold.
 */
export async function findQemuProcessesUsingMount(options: FindQemuOptions): Promise<QemuProcess[]> {
  const mountPoint = validateMountPoint(options.mountPoint);
  const { reply, exec } = await runWorker<QemuReply>({ op: "qemu", procRoot: options.procRoot ?? "/proc" }, options);
  if (reply === null) throw new ProcessDiscoveryError(describeNoReply(exec, options.deadlineMs, options.signal));
  if (!reply.ok) throw new ProcessDiscoveryError(`${reply.code ?? ""} ${reply.message ?? ""}`.trim());
  return (reply.processes ?? []).filter((process) => commandLineUsesMount(process.argv, mountPoint));
}

export interface StopQemuOptions extends FindQemuOptions {
  /** Sends SIGKILL (upstream: `kill -9`); injected so tests run unprivileged. Returns false when the pid is gone. */
  readonly kill: (pid: number) => boolean;
}

export interface StopQemuResult {
  readonly killed: readonly number[];
  /** Pids that were gone before the signal arrived. */
  readonly gone: readonly number[];
}

/** Upstream's deleteVMs after a remount: `kill -9` every qemu using the mount, and say which. */
export async function killQemuProcessesUsingMount(options: StopQemuOptions): Promise<StopQemuResult> {
  const killed: number[] = [];
  const gone: number[] = [];
  for (const { pid } of await findQemuProcessesUsingMount(options)) (options.kill(pid) ? killed : gone).push(pid);
  return { killed, gone };
}
