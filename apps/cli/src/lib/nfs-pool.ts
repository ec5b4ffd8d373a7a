// What `hb nfs` does on a pool, as results for the command to print: this host's write (with
// upstream's remount), a neighbour's check, kvmvmactivity.sh's check, and the scan of a pool.
import type { HeartbeatConfig } from "@hb/config";
import { readBootId } from "@hb/core/adapters";
import {
  checkVmActivity,
  ensureMounted,
  findNfsMount,
  judgeHeartbeat,
  nfsReaderSettings,
  nfsWriterSettings,
  readHeartbeat,
  readMountTable,
  readRecord,
  scanHeartbeats,
  writeHeartbeat,
  type ActivityCheckResult,
  type NeighbourVerdict,
  type ScanResult,
  type WriteResult,
} from "@hb/storage-nfs";
import type { RunDeps } from "../context.js";
import { stopQemuOnMount } from "./nfs.js";

const epochSeconds = (deps: RunDeps) => Math.floor(deps.clock.wallMs() / 1000);
/** Milliseconds as the seconds a reader compares ages with. */
export const seconds = (ms: number) => Number((ms / 1000).toFixed(3));

/** Whether the pool is an NFS mount per the mount table; a reason when it is not or cannot be told. */
export async function notMounted(mount: string, config: HeartbeatConfig): Promise<string | null> {
  try {
    const { mountsFile } = nfsWriterSettings(config);
    return findNfsMount(await readMountTable(mountsFile), mount) === undefined ? `${mount} is not an NFS mount (per ${mountsFile})` : null;
  } catch (error) {
    return (error as Error).message;
  }
}

export interface WriteArgs {
  readonly mount: string;
  readonly host: string;
  readonly server: string | undefined;
  readonly exportPath: string | undefined;
  readonly timeoutMs: number;
  readonly record: boolean;
  readonly config: HeartbeatConfig;
}

/** What upstream's remount did: the pool mounted again, and the qemu processes stopped after it (in words). */
export interface Remount {
  readonly mountPoint: string;
  readonly server: string;
  readonly exportPath: string;
  readonly stopped: string;
}

export type WriteOutcome =
  | { readonly kind: "remount-failed"; readonly message: string }
  | { readonly kind: "not-mounted"; readonly reason: string }
  | { readonly kind: "tried"; readonly remount: Remount | null; readonly result: WriteResult };

/** This host's heartbeat: remount first when asked (as upstream), else only onto an NFS mount. */
export async function writeOwnHeartbeat(args: WriteArgs, deps: RunDeps): Promise<WriteOutcome> {
  const started = deps.clock.monoMs();
  const remaining = () => Math.max(1, Math.round(args.timeoutMs - (deps.clock.monoMs() - started)));
  const writer = nfsWriterSettings(args.config);
  let remount: Remount | null = null;
  if (args.server !== undefined && args.exportPath !== undefined) {
    try {
      const state = await ensureMounted({ executor: deps.executor, server: args.server, exportPath: args.exportPath, mountPoint: args.mount, mountsFile: writer.mountsFile, deadlineMs: remaining() });
      if (state.state === "remounted") remount = { mountPoint: args.mount, server: args.server, exportPath: args.exportPath, stopped: await stopQemuOnMount(args.mount, remaining(), deps) };
    } catch (error) {
      return { kind: "remount-failed", message: (error as Error).message };
    }
  } else {
    const reason = await notMounted(args.mount, args.config);
    if (reason !== null) return { kind: "not-mounted", reason };
  }
  const wallMs = deps.clock.wallMs();
  const result = await writeHeartbeat({
    executor: deps.executor,
    mountPoint: args.mount,
    hostId: args.host,
    nowEpochSeconds: Math.floor(wallMs / 1000),
    deadlineMs: remaining(),
    // A one-off command by hand: the O_DIRECT read-back's extra round trip proves more and costs nothing here.
    readBack: true,
    ...(args.record
      ? {
          record: {
            host: args.host,
            bootId: readBootId(),
            writtenAtMs: wallMs,
            writer: "hb nfs write",
            frequencyMs: writer.frequencyMs,
            timeoutMs: writer.writeTimeoutMs,
            maxAgeSeconds: seconds(nfsReaderSettings(args.config).thresholdMs),
          },
        }
      : {}),
  });
  return { kind: "tried", remount, result };
}

export interface ReadArgs {
  readonly mount: string;
  readonly timeoutMs: number;
  readonly maxAgeMs: number;
  readonly config: HeartbeatConfig;
}

export type CheckReport = Omit<Partial<NeighbourVerdict>, "reason"> & { readonly verdict: NeighbourVerdict["verdict"]; readonly reason: string; readonly message: string; readonly record?: unknown };

/** A neighbour's heartbeat, judged; with its record beside it when asked for (never waited for longer). */
export async function checkNeighbour(args: ReadArgs & { readonly host: string; readonly withRecord: boolean }, deps: RunDeps): Promise<CheckReport> {
  const unmounted = await notMounted(args.mount, args.config);
  if (unmounted !== null) return { verdict: "undecided", reason: "not-mounted", message: unmounted };
  const read = { executor: deps.executor, deadlineMs: args.timeoutMs };
  const [heartbeat, record] = await Promise.all([readHeartbeat(args.mount, args.host, read), args.withRecord ? readRecord(args.mount, args.host, read) : Promise.resolve(null)]);
  const verdict = judgeHeartbeat(heartbeat, { nowEpochSeconds: epochSeconds(deps), maxAgeSeconds: seconds(args.maxAgeMs) });
  return { ...verdict, record };
}

export interface ActivityArgs {
  readonly mount: string;
  readonly host: string;
  readonly volumes: readonly string[];
  readonly suspectTime: number;
  readonly timeoutMs: number;
  readonly config: HeartbeatConfig;
}

/** kvmvmactivity.sh's check: a fresh heartbeat, or a volume written since the suspect time. */
export async function checkActivity(args: ActivityArgs, deps: RunDeps): Promise<ActivityCheckResult> {
  const unmounted = await notMounted(args.mount, args.config);
  if (unmounted !== null) return { decided: false, cause: "not-mounted", reason: unmounted, heartbeatAgeSeconds: null };
  const now = epochSeconds(deps);
  return checkVmActivity({
    executor: deps.executor,
    mountPoint: args.mount,
    hostId: args.host,
    volumes: args.volumes,
    suspectTime: args.suspectTime,
    checkTime: String(now),
    nowEpochSeconds: now,
    deadlineMs: args.timeoutMs,
  });
}

export type ScanOutcome = { readonly ok: true; readonly scan: ScanResult } | { readonly ok: false; readonly message: string };

/** Every host's heartbeat in the pool. */
export async function scanPool(args: ReadArgs, deps: RunDeps): Promise<ScanOutcome> {
  const unmounted = await notMounted(args.mount, args.config);
  if (unmounted !== null) return { ok: false, message: `cannot scan: ${unmounted}` };
  try {
    return { ok: true, scan: await scanHeartbeats({ executor: deps.executor, mountPoint: args.mount, nowEpochSeconds: epochSeconds(deps), maxAgeSeconds: seconds(args.maxAgeMs), deadlineMs: args.timeoutMs }) };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}
