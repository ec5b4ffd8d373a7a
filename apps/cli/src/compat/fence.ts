import { verifySettings, type FenceActionName, type HeartbeatConfig } from "@hb/config";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { propertiesPath, type RunDeps } from "../context.js";
import { flag, optionValue, type GetoptsResult } from "../getopts.js";
import { readScriptConfig } from "../lib/config.js";
import { fenceNow } from "../lib/fence-now.js";
import type { FenceStorage } from "../lib/one-owner.js";
import { runsAsSingleExecutable } from "../lib/shims.js";

/** What the agent asked a -c entry point to fence, and the configuration it fences with. */
export interface ScriptFence {
  /** Upstream's script name (or kvmha-fence.sh's tag): the syslog source. */
  readonly source: string;
  readonly target: string;
  /** The storage the call is about: the NFS pool at -m, or LINSTOR/StorPool. */
  readonly storage: FenceStorage;
  readonly propertiesPath: string;
  readonly config: HeartbeatConfig;
  readonly action: FenceActionName;
}

/** Go on (with notes for the fence record's reason), or stop here with the script's exit status. */
export type Verdict = { readonly proceed: true; readonly notes?: readonly string[] } | { readonly proceed: false; readonly exitStatus: number };

/**
 * A check that may veto the fence before the action starts. It logs its own veto; it must
 * finish well inside heartbeat.update.timeout.
 */
export interface FenceVerification {
  readonly name: string;
  check(fence: ScriptFence, deps: RunDeps): Promise<Verdict>;
}

/**
 * hb.fence.verify and the one-owner rule (lib/fence-verify.ts, lib/one-owner.ts): hbd's verdict when hbd watches the
 * storage, else DRBD's quorum (drbd-quorum) or one more NFS write (storage). A veto or a
 * deferral is recorded and exits 0; anything unknown at the deadline lets the action run.
 */
const verifyBeforeFence: FenceVerification = {
  name: "hb.fence.verify",
  async check(fence, deps) {
    const { verifyFence, recordNoFence, sayLoudly } = await import("../lib/fence-verify.js");
    const request = { source: fence.source, target: fence.target, storage: fence.storage, config: fence.config };
    const outcome = await verifyFence(request, deps);
    if (outcome.kind === "no-fence") {
      await recordNoFence(request, outcome, deps);
      return { proceed: false, exitStatus: 0 };
    }
    if (outcome.loud.length > 0) await sayLoudly(request, outcome.loud, deps);
    return { proceed: true, notes: outcome.notes };
  },
};

/** Run in order before the action. */
export const VERIFICATIONS: readonly FenceVerification[] = [verifyBeforeFence];

/**
 * kvmheartbeat.sh -c. Upstream checks the mount first (and, when the remount fails, never
 * fences); hb does not touch mounts here: the agent has decided, and a host that lost its
 * mount is exactly the one to fence. -i is not required for -c either, for the same reason.
 */
export async function kvmheartbeatFence(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const mount = optionValue(options, "m");
  const server = optionValue(options, "i");
  const target = mount !== "" ? mount : server !== "" ? `${server}:${optionValue(options, "p")}` : "an NFS pool";
  return fenceFromScript("kvmheartbeat.sh", target, { kind: "nfs", mountPoint: mount === "" ? undefined : mount }, deps);
}

/** kvmspheartbeat.sh [-c]: without -c upstream does nothing and exits 0. */
export async function kvmspheartbeat(options: GetoptsResult, deps: RunDeps): Promise<number> {
  if (!flag(options, "c")) return 0;
  return fenceFromScript("kvmspheartbeat.sh", "LINSTOR/StorPool storage", { kind: "shared-block" }, deps);
}

/**
 * kvmsmpheartbeat.sh -c (-m checked by the caller, as upstream requires it). Upstream kills the
 * qemu processes using the pool first, then reboots by sysrq; hb verifies, then runs the
 * configured action (its split-brain guard, hb.fence.kill.affected.vms, finds those processes).
 */
export async function kvmsmpheartbeatFence(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const mount = optionValue(options, "m");
  return fenceFromScript("kvmsmpheartbeat.sh", mount, { kind: "smp", mountPoint: mount }, deps);
}

/** A tag syslog and the records can carry: the scripts' names and upstream's default, `kvmha`. */
const SOURCE_TAG = /^[A-Za-z0-9_.-]{1,40}$/;

/**
 * kvmha-fence.sh's fence_action, as hb's shim of the helper calls it: `hb compat kvmha-fence
 * [-m MOUNT] [SOURCE]`, with the calling script's name (its log tag) and its $MountPoint. The
 * storage, and so the one-owner rule and hb.fence.verify, follow from the script's name.
 */
export async function kvmhaFence(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const given = options.operands[0] ?? "";
  const source = SOURCE_TAG.test(given) ? given : "kvmha";
  const mount = optionValue(options, "m");
  const mountPoint = mount === "" ? undefined : mount;
  switch (source) {
    case "kvmspheartbeat.sh":
      return fenceFromScript(source, "LINSTOR/StorPool storage", { kind: "shared-block" }, deps);
    case "kvmsmpheartbeat.sh":
      return fenceFromScript(source, mount !== "" ? mount : "a SharedMountPoint pool", { kind: "smp", mountPoint }, deps);
    default:
      return fenceFromScript(source, mount !== "" ? mount : "an NFS pool", { kind: "nfs", mountPoint }, deps);
  }
}

/**
 * Verify, then run the action in a detached process. The agent kills the script at
 * heartbeat.update.timeout, and only its direct child: a fence running in that child could be
 * cut half way; a detached one carries on. Nothing goes to stdout (the agent reads it) or
 * stderr (the agent merges it): notices go to syslog and the record.
 */
async function fenceFromScript(source: ScriptFence["source"], target: string, storage: FenceStorage, deps: RunDeps): Promise<number> {
  const path = propertiesPath(undefined, deps);
  const { values } = await readScriptConfig(path);
  const fence: ScriptFence = { source, target, storage, propertiesPath: path, config: values, action: verifySettings(values).fenceAction };
  const notes: string[] = [];
  for (const verification of VERIFICATIONS) {
    // A check that breaks proves nothing: it can never be a reason not to fence.
    const verdict = await verification.check(fence, deps).catch((error: unknown): Verdict => ({
      proceed: true,
      notes: [`${verification.name} could not be checked (${error instanceof Error ? error.message : String(error)}): acting as configured`],
    }));
    if (!verdict.proceed) return verdict.exitStatus;
    notes.push(...(verdict.notes ?? []));
  }
  // What the verification found goes into the record's reason: why hb did not veto.
  const reason = notes.length === 0 ? undefined : `the CloudStack agent ran ${source} -c; ${notes.join("; ")}`;
  const args = ["fence", "--source", source, "--target", target, "--action", fence.action, "--file", path, ...(reason === undefined ? [] : ["--reason", reason])];
  const inProcess = async (quiet: RunDeps) => (await fenceNow({ source, target, action: fence.action, file: path, reason }, quiet)).report.exitStatus;
  return runDetached(args, inProcess, deps);
}

/**
 * What starts this hb again: the single executable itself, or Node with bin/hb.js of this
 * installation, from the bundle (dist/) or the sources (src/compat/).
 */
function hbEntry(): readonly string[] | undefined {
  if (runsAsSingleExecutable()) return [];
  for (const relative of ["../bin/hb.js", "../../bin/hb.js"]) {
    const candidate = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(candidate)) return [candidate];
  }
  return undefined;
}

// After the child exits, how long its status line may still be on its way through the pipe.
const STATUS_GRACE_MS = 250;

/**
 * `hb fence … --status-fd 3` in its own session, answering with the status upstream's script
 * would have exited with, as soon as the child reports it (graceful-reboot keeps running for its
 * deadline after that). Where no detached process can be started, the action runs here.
 */
function runDetached(args: readonly string[], here: (quiet: RunDeps) => Promise<number>, deps: RunDeps): Promise<number> {
  const quiet: RunDeps = { ...deps, stdout: () => undefined, stderr: () => undefined };
  const inProcess = () => here(quiet);
  const entry = hbEntry();
  if (entry === undefined) return inProcess();
  return new Promise((resolve) => {
    let settled = false;
    let text = "";
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(process.execPath, [...entry, ...args, "--status-fd", "3"], { detached: true, stdio: ["ignore", "ignore", "ignore", "pipe"] });
    } catch {
      // Some spawn failures throw (hb's own EMFILE, EAGAIN): the action still runs, here.
      settled = true;
      void inProcess().then(resolve, () => resolve(1));
      return;
    }
    // A spawn that failed (hb's own EMFILE, EAGAIN) has no pipes; its 'error' runs the action here.
    const status = child.stdio?.[3] as Readable | null | undefined;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      status?.destroy();
      child.unref();
      resolve(code);
    };
    status?.on("error", () => undefined);
    status?.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const line = text.split("\n");
      if (line.length > 1) finish(/^\d+$/.test(line[0] ?? "") ? Number(line[0]) : 1);
    });
    child.on("error", () => {
      if (settled) return;
      settled = true;
      void inProcess().then(resolve, () => resolve(1));
    });
    child.on("exit", (code) => void setTimeout(() => finish(code ?? 1), STATUS_GRACE_MS));
  });
}
