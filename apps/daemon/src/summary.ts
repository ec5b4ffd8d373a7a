import { deriveTiming, formatSeconds, type DaemonSettings, type HeartbeatConfig } from "@hb/config";
import { hostGracefulRebootGuarantee } from "@hb/fence";
import { controlSocketPath, type StatusEndpointState } from "@hb/protocol";
import type { PoolSpec } from "./pools.js";
import type { Watchdog } from "./watchdog.js";

/** What the start-up summary says. */
export interface SummaryParts {
  readonly version: string;
  readonly propertiesPath: string;
  readonly config: HeartbeatConfig;
  readonly settings: DaemonSettings;
  readonly pools: ReadonlyMap<string, PoolSpec>;
  readonly watchdog: Watchdog;
  readonly endpoint: StatusEndpointState;
  readonly controlProblem: string | null;
  /** Why the state folder is not hbd's alone; null when it is. */
  readonly lockProblem: string | null;
  /** The previous fence record, if the previous boot was ended by hb. */
  readonly lastFence: string | undefined;
}

/** The start-up summary: what hbd watches, what it does on a decision, and what protects it. */
export function startupSummary(parts: SummaryParts): string {
  const { config, settings } = parts;
  const timing = deriveTiming(config);
  const action = settings.fenceAction;
  const lines = [
    `hbd ${parts.version}: ${parts.pools.size} pool(s) from ${parts.propertiesPath}`,
    ...[...parts.pools.values()].map((pool) => `  ${pool.id}  ${pool.kind}${pool.kind === "linstor" ? "" : `  ${pool.mountPoint}`}  (${pool.source})`),
    `fence action: ${action}${settings.dryRun ? " (DRY RUN: decisions are recorded, nothing is done)" : ""}`,
    timing.fences
      ? "  a real fence: the host resets, so its VMs cannot run twice"
      : `  NOT a fence: VMs keep running while CloudStack may declare this host dead and start them elsewhere (two writers on one disk)`,
    `timing: decision at most ${formatSeconds(timing.decisionLatestMs)} after the last good heartbeat; neighbours may call this host dead after ${formatSeconds(timing.neighbourDeadAfterMs)}`,
    ...timing.invariants.filter((invariant) => !invariant.holds).map((invariant) => `  WARNING ${invariant.id}: ${invariant.message}`),
    ...(action === "graceful-reboot" ? [gracefulGuarantee(settings, parts.watchdog)] : []),
    `watchdog: ${parts.watchdog.describe()}`,
    parts.endpoint.bound ? `status: http://${parts.endpoint.listen}/status` : `WARNING no status endpoint: ${parts.endpoint.error ?? "?"} (hbd runs; hb status reads the control socket)`,
    parts.controlProblem === null ? `control: ${controlSocketPath(settings.stateDir)}` : `WARNING no control socket: ${parts.controlProblem}`,
    ...(parts.lockProblem === null ? [] : [`WARNING state folder: ${parts.lockProblem}; fence records may not be written, the fence still acts`]),
    ...(parts.lastFence === undefined ? [] : [`previous boot: ${parts.lastFence}`]),
  ];
  return `${lines.join("\n")}\n`;
}

/** Whether graceful-reboot still ends in a reset when the shutdown stalls after hbd is gone. */
function gracefulGuarantee(settings: DaemonSettings, watchdog: Watchdog): string {
  if (watchdog.mode === "device") return `graceful-reboot: hbd's watchdog device is its backstop (reset ${watchdog.timeoutSeconds} s after the last keepalive)`;
  const guarantee = hostGracefulRebootGuarantee({ watchdogDevice: settings.watchdogDevice });
  return `${guarantee.guaranteed ? "" : "WARNING "}${guarantee.summary}`;
}
