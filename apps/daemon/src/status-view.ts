import { deriveTiming, type DaemonSettings, type HeartbeatConfig } from "@hb/config";
import type { Clock, FenceDecision, TargetStatus as LoopTargetStatus } from "@hb/core";
import type { ConfigState, DiscoveryState, StatusDocument, StatusEndpointState, TargetStatus, VetoSummary } from "@hb/protocol";
import type { PoolSpec } from "./pools.js";

/** Everything the status document is made of, as hbd holds it. */
export interface StatusParts {
  readonly version: string;
  readonly config: HeartbeatConfig;
  readonly settings: DaemonSettings;
  readonly configState: ConfigState;
  readonly endpoint: StatusEndpointState;
  readonly discovery: DiscoveryState;
  readonly startedAtWallMs: number;
  readonly maintenanceUntilMs: number | undefined;
  readonly watchdog: StatusDocument["watchdog"];
  readonly lagP99Ms: number;
  readonly stuckChildren: number;
  readonly decisions: readonly FenceDecision[];
  readonly vetoes: VetoSummary;
  readonly targets: readonly LoopTargetStatus[];
  readonly pools: ReadonlyMap<string, PoolSpec>;
  inconclusiveAttempts(target: string): number;
}

/** What the loop's own health leaves out that hbd needs to protect the host, as health problems. */
export interface HealthParts {
  readonly running: boolean;
  readonly lagP99Ms: number;
  readonly lagging: boolean;
  readonly progressing: boolean;
  readonly endpoint: StatusEndpointState;
  readonly controlProblem: string | null;
  readonly configState: ConfigState | undefined;
  readonly discoveryProblem: string | null;
}

/** What /healthz says: the loop's health and everything else hbd needs to protect the host, with reasons. */
export function healthOf(parts: HealthParts): { healthy: boolean; problems: string[] } {
  const problems: string[] = [];
  if (!parts.running) problems.push("hbd is not running its loop");
  else {
    if (parts.lagging) problems.push(`event-loop lag p99 ${Math.round(parts.lagP99Ms)} ms`);
    if (!parts.progressing) problems.push("a pool made no progress within one round's worst case");
  }
  if (!parts.endpoint.bound) problems.push(`status endpoint ${parts.endpoint.listen} not bound: ${parts.endpoint.error ?? "unknown"}`);
  if (parts.controlProblem !== null) problems.push(`no control socket: ${parts.controlProblem}`);
  if (parts.configState?.stale) problems.push(`configuration stale since ${parts.configState.stale.since}: ${parts.configState.stale.reason}`);
  if (parts.discoveryProblem !== null) problems.push(parts.discoveryProblem);
  return { healthy: problems.length === 0, problems };
}

/** The status document: `/status` and the control socket's answer to `{"op":"status"}`. */
export function statusDocument(parts: StatusParts, health: { healthy: boolean; problems: string[] }, clock: Clock): StatusDocument {
  const { config } = parts;
  const toWall = (mono: number) => new Date(clock.wallMs() + (mono - clock.monoMs())).toISOString();
  const timing = deriveTiming(config);
  return {
    version: parts.version,
    healthy: health.healthy,
    healthProblems: health.problems,
    statusEndpoint: parts.endpoint,
    config: parts.configState,
    discovery: parts.discovery,
    startedAt: new Date(parts.startedAtWallMs).toISOString(),
    action: parts.settings.fenceAction,
    fences: parts.settings.fences,
    dryRun: parts.settings.dryRun,
    maintenance: parts.maintenanceUntilMs === undefined ? null : { until: toWall(parts.maintenanceUntilMs) },
    watchdog: parts.watchdog,
    eventLoopLagP99Ms: Math.round(parts.lagP99Ms * 10) / 10,
    stuckChildren: parts.stuckChildren,
    decisions: parts.decisions.map((d) => ({ at: d.wallTime, target: d.target, action: d.action, isFence: d.isFence, mode: d.mode, reason: d.reason })),
    vetoes: parts.vetoes,
    targets: parts.targets.map((target): TargetStatus => {
      const pool = parts.pools.get(target.id);
      const ok = target.attempts.filter((a) => a.result === "ok").map((a) => a.latencyMs).sort((a, b) => a - b);
      // hb's own faults are not failed tries (DESIGN rule 11).
      const failuresInARow = target.attempts.slice(target.attempts.findLastIndex((a) => a.result === "ok") + 1).filter((a) => a.result !== "inconclusive").length;
      return {
        id: target.id,
        kind: pool?.kind ?? "unknown",
        ...(pool !== undefined && pool.kind !== "linstor" ? { mountPoint: pool.mountPoint } : {}),
        state: target.state,
        armed: target.armed,
        lastGoodAt: target.lastSuccessAtMs === undefined ? null : toWall(target.lastSuccessAtMs),
        lastGoodAgeMs: target.lastSuccessAtMs === undefined ? null : Math.round(clock.monoMs() - target.lastSuccessAtMs),
        consecutiveFailures: failuresInARow,
        inconclusiveAttempts: parts.inconclusiveAttempts(target.id),
        latencyMs: { count: ok.length, p50: percentile(ok, 0.5), p99: percentile(ok, 0.99), max: ok.at(-1) ?? null },
        decisionAtTheLatest: target.lastSuccessAtMs === undefined ? null : toWall(target.lastSuccessAtMs + timing.decisionLatestMs),
        lastChange: target.history.at(-1) ?? null,
      };
    }),
  };
}

function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? null;
}
