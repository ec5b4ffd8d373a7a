// `hb fence`'s action run now: by an operator, or detached from a -c entry point (which runs it
// here when no detached process can be started).
import { FENCE_ACTIONS, parseFenceAction, type FenceActionName } from "@hb/config";
import type { FenceDecision } from "@hb/core";
import { createFenceAction, fenceRunSettings, type AffectedVms, type FenceActionReport } from "@hb/fence";
import { findQemuProcessesUsingMount } from "@hb/storage-nfs";
import { closeSync, writeSync } from "node:fs";
import { loadCommandConfig, propertiesPath, type RunDeps } from "../context.js";
import { UsageError } from "../errors.js";
import { fenceNotices, readScriptConfig, type ScriptConfig } from "./config.js";

/** `reboot` is `hard-reboot`; anything else unknown is a usage error here (not in agent.properties). */
export function parseActionName(value: string): FenceActionName {
  const name = parseFenceAction(value);
  if (name !== undefined) return name;
  throw new UsageError(`--action takes ${FENCE_ACTIONS.join(", ")} (reboot = hard-reboot), not ${JSON.stringify(value)}`);
}

export interface FenceNowOptions {
  readonly action?: FenceActionName | undefined;
  readonly reason?: string | undefined;
  readonly dryRun?: boolean | undefined;
  readonly file?: string | undefined;
  /** Set by the -c entry points: the script that asked, and what for. */
  readonly source?: string | undefined;
  readonly target?: string | undefined;
  /** Where the -c entry point waits for the script's exit status. */
  readonly statusFd?: number | undefined;
}

/** Run the action now; the report, and the state directory its record went to. */
export async function fenceNow(options: FenceNowOptions, deps: RunDeps): Promise<{ readonly report: FenceActionReport; readonly stateDir: string }> {
  const fromScript = options.source !== undefined;
  const { action, statusFd } = options;
  const path = propertiesPath(options.file, deps);

  let config: ScriptConfig;
  if (fromScript) {
    config = await readScriptConfig(path);
  } else {
    // An operator's explicit --file must exist; the agent's own file may be absent (defaults).
    const resolved = await loadCommandConfig(options.file, deps);
    const notices = fenceNotices(path, resolved.problems, { actionGiven: action !== undefined });
    for (const notice of notices) deps.stderr(`hb: ${notice}\n`);
    config = { values: resolved.values, notices };
  }

  const run = fenceRunSettings(config.values, { action, dryRun: options.dryRun });
  const source = options.source ?? "hb fence";
  const decision: FenceDecision = {
    atMs: deps.clock.monoMs(),
    wallTime: new Date(deps.clock.wallMs()).toISOString(),
    target: options.target ?? "(none: requested by the operator)",
    reason: options.reason ?? (fromScript ? `the CloudStack agent ran ${source} -c` : "requested with hb fence"),
    action: run.action,
    isFence: run.isFence,
    mode: run.dryRun ? "dry-run" : "act",
    dryRun: run.dryRun,
    history: [],
    lastAttempts: [],
    timing: run.timing,
    arithmetic: fromScript
      ? `${source} -c is run by the CloudStack agent once kvm.heartbeat.update.max.tries (${run.timing.maxTries}) heartbeat attempts failed`
      : "an operator's request: no heartbeat arithmetic",
  };
  const fence = createFenceAction(run.action, {
    executor: deps.executor,
    clock: deps.clock,
    settings: run.fence,
    source,
    version: deps.version,
    cause: fromScript ? "heartbeat" : "operator",
    notices: config.notices,
    ...(statusFd === undefined ? {} : { onScriptExit: (status: number) => reportStatus(statusFd, status) }),
    // The split-brain guard (hb.fence.kill.affected.vms): kvmheartbeat.sh -c names the pool's
    // mount point (kvmsmpheartbeat.sh -c its pool's path), so the qemu processes using it can be
    // found; kvmspheartbeat.sh cannot know.
    ...((source === "kvmheartbeat.sh" || source === "kvmsmpheartbeat.sh") && options.target?.startsWith("/") === true ? { affectedVms: qemuOnMount(options.target, deps, run.fence.stepTimeoutMs) } : {}),
  });
  return { report: await fence.execute(decision), stateDir: run.fence.stateDir };
}

function qemuOnMount(mountPoint: string, deps: RunDeps, deadlineMs: number): AffectedVms {
  return {
    find: async (_target, signal) =>
      (await findQemuProcessesUsingMount({ executor: deps.executor, deadlineMs, signal, mountPoint })).map((process) => process.pid),
  };
}

export function parseStatusFd(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 3) throw new UsageError(`--status-fd takes a file descriptor of 3 or more, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** Tells the waiting -c entry point the script's exit status; it may be gone already. */
function reportStatus(fd: number, status: number): void {
  try {
    writeSync(fd, `${status}\n`);
    closeSync(fd);
  } catch {
    // The agent killed the entry point: nobody is listening, the action goes on.
  }
}

