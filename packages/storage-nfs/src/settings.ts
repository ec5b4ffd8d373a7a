import { deriveTiming, type HeartbeatConfig } from "@hb/config";

/** What every NFS reader and writer needs. */
export interface NfsSettings {
  /** hb.mounts.file: the mount table that tells whether a pool is an NFS mount. */
  readonly mountsFile: string;
  /** hb.host.ip: this host's id in heartbeat file names, when set (else the address of private.network.device). */
  readonly hostIp: string | null;
}

/** A neighbour's heartbeat check and scan. */
export interface NfsReaderSettings extends NfsSettings {
  /** kvm.heartbeat.checker.timeout: the deadline of a check. */
  readonly checkTimeoutMs: number;
  /** The timing model's neighbour threshold: the age over which a heartbeat reads DEAD. */
  readonly thresholdMs: number;
  /** hb.heartbeat.max.age, for an agent that passes its own -t: neighbourThresholdMs(t, maxAgeMs). */
  readonly maxAgeMs: number | null;
}

/** This host's heartbeat writer. */
export interface NfsWriterSettings extends NfsSettings {
  /** heartbeat.update.timeout: the deadline of each write. */
  readonly writeTimeoutMs: number;
  /** kvm.heartbeat.update.frequency: the pause between rounds (written into the record). */
  readonly frequencyMs: number;
  /** kvm.heartbeat.update.max.tries (written into the record). */
  readonly maxTries: number;
}

function nfsSettings(config: HeartbeatConfig): NfsSettings {
  return { mountsFile: config["hb.mounts.file"], hostIp: config["hb.host.ip"] };
}

export function nfsReaderSettings(config: HeartbeatConfig): NfsReaderSettings {
  return {
    ...nfsSettings(config),
    checkTimeoutMs: config["kvm.heartbeat.checker.timeout"],
    thresholdMs: deriveTiming(config).neighbourThresholdMs,
    maxAgeMs: config["hb.heartbeat.max.age"],
  };
}

export function nfsWriterSettings(config: HeartbeatConfig): NfsWriterSettings {
  return {
    ...nfsSettings(config),
    writeTimeoutMs: config["heartbeat.update.timeout"],
    frequencyMs: config["kvm.heartbeat.update.frequency"],
    maxTries: config["kvm.heartbeat.update.max.tries"],
  };
}
