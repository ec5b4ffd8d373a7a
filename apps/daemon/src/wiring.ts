import { realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { daemonSettings, type HeartbeatConfig } from "@hb/config";
import { readLocalFileSync } from "@hb/config/files";
import { ProcessExecutor, readBootId, type Clock, type Executor, type FenceAction, type HeartbeatTarget } from "@hb/core";
import { checkCustomScript, createFenceAction, defaultBackstops, describeLastFence, fenceSettings, readLastFence, type RebootBackstop } from "@hb/fence";
import { NATIVE_WORKER_NAME, nativeWorkerBuildPath, NfsHeartbeatTarget, SmpHeartbeatTarget, findQemuProcessesUsingMount, nfsWriterSettings } from "@hb/storage-nfs";
import { DrbdHeartbeatTarget, drbdSettings } from "@hb/storage-drbd";
import type { DaemonDeps, TargetContext } from "./daemon.js";
import type { EventLoopLag } from "./supervisor.js";
import type { PoolSpec } from "./pools.js";

export interface WiringDeps {
  readonly executor: Executor;
  readonly clock: Clock;
  readonly version: string;
  /** When hbd holds the watchdog device, graceful-reboot's watchdog backstop is hbd's own. */
  readonly heldWatchdog?: () => RebootBackstop | undefined;
  /** The native storage worker NFS and SharedMountPoint pools write through (see chooseStorageWorker); else a Node child per write. */
  readonly storageWorker?: string;
}

/** One heartbeat target per pool: the NFS or SharedMountPoint heartbeat file, or this host's DRBD health. */
export function makeTarget(pool: PoolSpec, context: TargetContext, deps: WiringDeps): HeartbeatTarget {
  const { config } = context;
  if (pool.kind === "linstor") {
    const { drbdsetup, nodeName } = drbdSettings(config);
    return new DrbdHeartbeatTarget({ id: pool.id, executor: deps.executor, drbdsetup, ...(nodeName === null ? {} : { nodeName }) });
  }
  const nfs = nfsWriterSettings(config);
  const options = {
    id: pool.id,
    mountPoint: pool.mountPoint,
    hostId: context.hostId ?? "",
    executor: deps.executor,
    clock: deps.clock,
    mountsFile: nfs.mountsFile,
    ...(deps.storageWorker === undefined ? {} : { nativeWorker: deps.storageWorker }),
    record: {
      bootId: readBootId() ?? "unknown",
      fields: () => ({ frequencyMs: nfs.frequencyMs, timeoutMs: nfs.writeTimeoutMs, maxTries: nfs.maxTries }),
    },
  };
  // SharedMountPoint: the same write; the mount check asks for a shared filesystem, not NFS.
  return pool.kind === "smp" ? new SmpHeartbeatTarget(options) : new NfsHeartbeatTarget(options);
}

/** The configured fence action, speaking as hbd, with the split-brain guard for NFS and SharedMountPoint pools. */
export function makeFence(config: HeartbeatConfig, deps: WiringDeps, poolMount: (target: string) => string | undefined): FenceAction {
  const settings = fenceSettings(config);
  const held = deps.heldWatchdog?.();
  const backstops = defaultBackstops({ executor: deps.executor, clock: deps.clock, settings }).map((backstop) =>
    backstop.name === "watchdog" && held !== undefined ? held : backstop,
  );
  return createFenceAction(daemonSettings(config).fenceAction, {
    executor: deps.executor,
    clock: deps.clock,
    settings,
    source: "hbd",
    version: deps.version,
    backstops,
    affectedVms: {
      find: async (target, signal) => {
        const mountPoint = poolMount(target);
        if (mountPoint === undefined) return [];
        const processes = await findQemuProcessesUsingMount({ executor: deps.executor, deadlineMs: settings.stepTimeoutMs, signal, mountPoint });
        return processes.map((process) => process.pid);
      },
    },
  });
}

/**
 * The previous fence record, if the previous boot was ended by hb. Read in a bounded child: the
 * state folder may hang, and a read blocked in the kernel would pin a pool thread of hbd's.
 */
export async function lastFenceRecord(stateDir: string, deadlineMs: number): Promise<string | undefined> {
  const last = await readLastFence(stateDir, { executor: new ProcessExecutor(), deadlineMs }).catch(() => null);
  return last === null ? undefined : describeLastFence(last);
}

/**
 * hbd's target and fence factories, as every hbd (the service, the demo, the fault matrix) wires
 * them: the split-brain guard finds the mount of each NFS pool the daemon made a target for.
 */
export function hbdFactories(deps: WiringDeps): Pick<DaemonDeps, "makeTarget" | "makeFence"> {
  const mounts = new Map<string, string>();
  return {
    makeTarget: (pool, context) => {
      if (pool.kind !== "linstor") mounts.set(pool.id, pool.mountPoint);
      return makeTarget(pool, context, deps);
    },
    makeFence: (config) => makeFence(config, deps, (target) => mounts.get(target)),
  };
}

// hbd's own command line is a few hundred bytes; a longer one is not hbd's.
const CMDLINE_MAX_BYTES = 64 * 1024;

/**
 * Whether `pid` is a running hbd: its command line runs the same script as this one, or an
 * `hbd` entry point. A pid file from before a reboot usually names some unrelated process.
 */
export function isHbdProcess(pid: number, ownScript: string | undefined): boolean {
  let args: string[];
  try {
    args = readLocalFileSync(`/proc/${pid}/cmdline`, { maxBytes: CMDLINE_MAX_BYTES }).toString("utf8").split("\0");
  } catch {
    return false;
  }
  return args.some((arg) => (ownScript !== undefined && arg === ownScript) || /(^|\/)hbd(\.js)?$/.test(arg) || /apps\/daemon\/dist\/main\.js$/.test(arg));
}

export interface StorageWorkerChoice {
  /** The native worker to keep per pool; undefined: a Node child per write. */
  readonly path: string | undefined;
  /** For hbd's start-up line: what it writes with, and why. */
  readonly note: string;
  /** A worker was named or found but refused: the operator should hear of it. */
  readonly refused: boolean;
}

/**
 * The storage worker hbd keeps per pool (hb.storage.worker). Whoever controls that program
 * controls what hbd believes about its heartbeats, so it is trusted only as the custom fence
 * script is: a regular executable that only root (or hbd's own uid) may write, in a folder of
 * the same kind. `auto` takes the first of `candidates` that exists (beside hbd's executable,
 * then a checkout's build); without one, or with one refused, each write is a Node child, which
 * costs more but decides the same.
 */
export function chooseStorageWorker(setting: string, candidates: readonly (string | undefined)[], uid: number): StorageWorkerChoice {
  const perWrite = "node (a child per write)";
  if (setting === "node") return { path: undefined, note: `${perWrite}: hb.storage.worker=node`, refused: false };
  const paths = setting === "auto" ? candidates.filter((path): path is string => path !== undefined) : [setting];
  const refusals: string[] = [];
  for (const path of paths) {
    const check = checkCustomScript(path, uid);
    if (check.ok) return { path: check.path, note: `${check.path} (one per pool, kept alive)`, refused: false };
    if (setting === "auto" && check.refusal === "missing") continue;
    refusals.push(`${path} ${check.detail}`);
  }
  if (refusals.length > 0) return { path: undefined, note: `${perWrite}: not used: ${refusals.join("; ")}`, refused: true };
  return { path: undefined, note: `${perWrite}: no ${NATIVE_WORKER_NAME} beside hbd`, refused: false };
}

/** Where hbd looks for the native worker: beside its own executable (/usr/lib/hb in the packages), then a checkout's build. */
export function storageWorkerCandidates(): (string | undefined)[] {
  let executable = process.execPath;
  try {
    executable = realpathSync(executable);
  } catch {
    // The path as started, then.
  }
  return [join(dirname(executable), NATIVE_WORKER_NAME), nativeWorkerBuildPath()];
}

/**
 * hbd's executor. A hung pool holds at most one stuck child per try of a round: every try of
 * the round that decides runs to its own deadline (a hang that clears during the last try is
 * survived), and no more children than that pile up behind a hung mount. The cap follows
 * `kvm.heartbeat.update.max.tries` as hbd starts with it.
 */
export function hbdExecutor(config: HeartbeatConfig): ProcessExecutor {
  return new ProcessExecutor({ maxStuckPerGroup: daemonSettings(config).maxTries });
}

/**
 * How often the lag is sampled for a threshold: half of it, so that a stall over the threshold
 * always spans a sample, and no more often than needed. Each sample wakes hbd at a cost of about
 * 90 µs of CPU (Node's histogram timer): every 20 ms was 4 ms a second, 90% of an idle hbd's
 * CPU; every 500 ms (the default timeout's 1 s threshold) is 0.2 ms.
 */
export function lagResolutionMs(thresholdMs: number): number {
  return Math.max(20, Math.min(500, Math.floor(thresholdMs / 2)));
}

/**
 * Node's own event-loop delay, sampled every `resolutionMs`: the p99 of a window, beyond the
 * sampling interval itself (the histogram's values include it). With 50 samples or fewer in the
 * 5 s window, the p99 is their largest: one stall in the window counts.
 */
export function eventLoopLag(resolutionMs = 100): EventLoopLag {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  return {
    start: () => histogram.enable(),
    takeP99Ms: () => {
      const p99Ms = histogram.count === 0 ? 0 : Math.max(0, histogram.percentile(99) / 1e6 - resolutionMs);
      histogram.reset();
      return p99Ms;
    },
    stop: () => histogram.disable(),
  };
}
