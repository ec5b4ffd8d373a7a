import type { FenceActionName, HeartbeatConfig, WatchdogMode } from "./schema.js";
import { deriveTiming, type VerifyTiming } from "./timing.js";

// Typed projections of the effective configuration, one per consumer, so that apps name what they
// need instead of reading property keys. Storage settings live in their packages
// (nfsReaderSettings, nfsWriterSettings in @hb/storage-nfs; drbdSettings in @hb/storage-drbd);
// the fence's in @hb/fence (fenceSettings).

/** How hb reaches hbd: its control socket in the state folder, or its read-only status endpoint. */
export interface StatusSettings {
  /** hb.state.dir: holds hbd.sock and hbd.pid. */
  readonly stateDir: string;
  /** hb.fence.step.timeout: the deadline of each question to hbd. */
  readonly stepTimeoutMs: number;
  /** hb.status.listen: hbd's read-only HTTP endpoint (host:port). */
  readonly statusListen: string;
}

export function statusSettings(config: HeartbeatConfig): StatusSettings {
  return { stateDir: config["hb.state.dir"], stepTimeoutMs: config["hb.fence.step.timeout"], statusListen: config["hb.status.listen"] };
}

/** What hbd itself runs on, besides the storage and fence settings it hands to its targets and action. */
export interface DaemonSettings extends StatusSettings {
  /** kvm.heartbeat.fence.action */
  readonly fenceAction: FenceActionName;
  /** Whether a decision takes the host down (a fencing action and the reboot flag on): the timing model's `fences`. */
  readonly fences: boolean;
  /** hb.fence.dry.run */
  readonly dryRun: boolean;
  /** kvm.heartbeat.update.frequency: the round, the pool sync and the endpoint's rebind interval. */
  readonly frequencyMs: number;
  /** heartbeat.update.timeout: the deadline of each attempt. */
  readonly attemptTimeoutMs: number;
  /** kvm.heartbeat.update.max.tries */
  readonly maxTries: number;
  /** hb.pools as written (parseDeclaredPools reads it); null when not set. */
  readonly declaredPools: string | null;
  /** hb.status.allow.remote */
  readonly allowRemoteStatus: boolean;
  /** hb.watchdog */
  readonly watchdog: WatchdogMode;
  /** hb.watchdog.device */
  readonly watchdogDevice: string;
  /** hb.mounts.file: the mount table pool discovery reads. */
  readonly mountsFile: string;
  /** hb.storage.worker: auto, node, or the native worker's absolute path. */
  readonly storageWorker: string;
}

export function daemonSettings(config: HeartbeatConfig): DaemonSettings {
  return {
    ...statusSettings(config),
    fenceAction: config["kvm.heartbeat.fence.action"],
    fences: deriveTiming(config).fences,
    dryRun: config["hb.fence.dry.run"],
    frequencyMs: config["kvm.heartbeat.update.frequency"],
    attemptTimeoutMs: config["heartbeat.update.timeout"],
    maxTries: config["kvm.heartbeat.update.max.tries"],
    declaredPools: config["hb.pools"],
    allowRemoteStatus: config["hb.status.allow.remote"],
    watchdog: config["hb.watchdog"],
    watchdogDevice: config["hb.watchdog.device"],
    mountsFile: config["hb.mounts.file"],
    storageWorker: config["hb.storage.worker"],
  };
}

/** What a -c entry point's verification before the fence needs (the storage checks take their own package's settings). */
export interface VerifySettings extends StatusSettings {
  /** kvm.heartbeat.fence.action: the action the verification stands before. */
  readonly fenceAction: FenceActionName;
  /** The timing model's budget of the verification (hb.fence.verify, its deadline, hbd's share). */
  readonly timing: VerifyTiming;
}

export function verifySettings(config: HeartbeatConfig): VerifySettings {
  return { ...statusSettings(config), fenceAction: config["kvm.heartbeat.fence.action"], timing: deriveTiming(config).verify };
}

/** What `hb doctor` looks at on the host: each input is a file a setting names, so a test describes a host of its own. */
export interface HostCheckSettings {
  /** mount.path: where the agent mounts NFS pools (/mnt/<uuid>). */
  readonly mountPath: string;
  /** hb.pools as written (parseDeclaredPools reads it); null when not set. */
  readonly declaredPools: string | null;
  /** hb.mounts.file */
  readonly mountsFile: string;
  /** hb.sysrq.file: where kernel.sysrq is read. */
  readonly sysrqFile: string;
  /** hb.fence.sysrq.trigger */
  readonly sysrqTrigger: string;
  /** kvm.heartbeat.fence.action: whether the action ends in a reset that needs sysrq. */
  readonly fenceAction: FenceActionName;
  /** hb.watchdog */
  readonly watchdog: WatchdogMode;
  /** hb.watchdog.device */
  readonly watchdogDevice: string;
  /** kvm.scripts.dir as set: where the agent runs its heartbeat scripts from. */
  readonly scriptsDir: string;
}

export function hostCheckSettings(config: HeartbeatConfig): HostCheckSettings {
  return {
    mountPath: config["mount.path"],
    declaredPools: config["hb.pools"],
    mountsFile: config["hb.mounts.file"],
    sysrqFile: config["hb.sysrq.file"],
    sysrqTrigger: config["hb.fence.sysrq.trigger"],
    fenceAction: config["kvm.heartbeat.fence.action"],
    watchdog: config["hb.watchdog"],
    watchdogDevice: config["hb.watchdog.device"],
    scriptsDir: config["kvm.scripts.dir"],
  };
}
