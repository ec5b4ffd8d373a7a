// What `hb drbd` asks DRBD and LINSTOR, as results for the command to print.
import { isHbError, type HbError, type HeartbeatConfig } from "@hb/config";
import {
  checkPeer,
  checkResourceOptions,
  drbdSettings,
  HttpLinstorNodes,
  readHostHealth,
  readResourceOptions,
  resolveNodeName,
  type DrbdResourceOptions,
  type HostVerdict,
  type PeerVerdict,
} from "@hb/storage-drbd";
import type { RunDeps } from "../context.js";

/** How each drbdsetup run is made. */
export interface DrbdRun {
  readonly executor: RunDeps["executor"];
  readonly drbdsetup: string;
  readonly deadlineMs: number;
}

/** drbdsetup from the settings, each run bounded by --timeout or heartbeat.update.timeout. */
export function drbdRun(config: HeartbeatConfig, timeoutMs: number | undefined, deps: RunDeps): DrbdRun {
  const settings = drbdSettings(config);
  return { executor: deps.executor, drbdsetup: settings.drbdsetup, deadlineMs: timeoutMs ?? settings.deadlineMs };
}

/** drbdsetup could not be run, or its output not read. */
export function isDrbdFailure(error: unknown): error is HbError {
  return isHbError(error) && (error.code === "DRBD_COMMAND" || error.code === "DRBD_OUTPUT");
}

/** This host's node name; undefined with a note when it cannot be told (the commands work without it). */
export interface NodeName {
  readonly node: string | undefined;
  readonly note: string | null;
}

export async function nodeName(run: DrbdRun, config: HeartbeatConfig): Promise<NodeName> {
  try {
    return { node: await resolveNodeName({ executor: run.executor, configured: drbdSettings(config).nodeName, deadlineMs: run.deadlineMs }), note: null };
  } catch (error) {
    if (!isHbError(error)) throw error;
    return { node: undefined, note: error.message };
  }
}

/** This host's verdict and its node name. */
export async function readHealth(run: DrbdRun, config: HeartbeatConfig): Promise<NodeName & { readonly host: HostVerdict }> {
  const host = await readHostHealth(run);
  return { host, ...(await nodeName(run, config)) };
}

/** Whether NODE is alive: this host's DRBD connections first, then the LINSTOR controller when one is set. */
export async function askPeer(node: string, self: string | undefined, run: DrbdRun, config: HeartbeatConfig): Promise<PeerVerdict> {
  const controller = drbdSettings(config).linstorController;
  return checkPeer({
    ...run,
    node,
    ...(self === undefined ? {} : { nodeName: self }),
    ...(controller === null ? {} : { linstor: new HttpLinstorNodes(controller) }),
  });
}

/** Each resource's options and what is unsafe in them. */
export async function readOptionFindings(run: DrbdRun): Promise<{ readonly resources: readonly DrbdResourceOptions[]; readonly findings: ReturnType<typeof checkResourceOptions> }> {
  const resources = await readResourceOptions(run);
  return { resources, findings: checkResourceOptions(resources) };
}
