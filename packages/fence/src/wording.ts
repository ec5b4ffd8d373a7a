import { formatSeconds, type FenceActionName, type Invariant, type TimingModel } from "@hb/config";
import type { FenceDecision } from "@hb/core";

/** Who asked for the action: a lost heartbeat (scripts, hbd) or an operator (`hb fence`). */
export type FenceCause = "heartbeat" | "operator";

/** Said of restart-agent and log-only in every record and log line (DESIGN rule 8). */
export const NOT_A_FENCE =
  "This is NOT a fence: the VMs keep running here while CloudStack may start them on another host (two writers on one disk)";

/** Upstream's line, word for word (kvmheartbeat.sh / kvmspheartbeat.sh -c). */
export function upstreamRebootLine(source: string): string {
  return `${source} will reboot system because it was unable to write the heartbeat to the storage.`;
}

export interface WordingInput {
  readonly source: string;
  readonly cause: FenceCause;
  readonly action: FenceActionName;
  readonly decision: FenceDecision;
  readonly gracefulDeadlineMs: number;
  readonly agentService: string;
  readonly customScript: string;
  readonly customDeadlineMs: number;
  readonly customFences: boolean;
}

/**
 * The syslog line of a decision, sent with tag `heartbeat`. `reboot` for a lost heartbeat is
 * upstream's exact wording (operators grep for it); the others say what they do and, for the
 * non-fencing actions, that they are not a fence.
 */
export function decisionLine(input: WordingInput): string {
  const { source, cause, action, decision } = input;
  const failure = cause === "operator" ? `requested by the operator (${decision.reason})` : `heartbeat to the storage failed (${decision.target}: ${decision.reason})`;
  if (decision.mode === "suppressed") {
    return `${source}: ${failure}; fence action '${action}' not taken: ${decision.suppressedBy ?? "suppressed"}.`;
  }
  const line = actionLine(input, failure);
  return decision.mode === "dry-run" ? `${source}: dry run, nothing is done — ${line}` : line;
}

function actionLine({ source, cause, action, decision, gracefulDeadlineMs, agentService, customScript, customDeadlineMs, customFences }: WordingInput, failure: string): string {
  const dry = decision.mode === "dry-run";
  switch (action) {
    case "hard-reboot":
      if (cause === "heartbeat" && !dry) return upstreamRebootLine(source);
      return `${source} ${dry ? "would reboot" : "will reboot"} system (sysrq b): ${failure}.`;
    case "graceful-reboot":
      return (
        `${source} ${dry ? "would reboot" : "will reboot"} system gracefully (systemctl reboot, ` +
        `sysrq b if the host is still up after ${formatSeconds(gracefulDeadlineMs)}): ${failure}.`
      );
    case "restart-agent":
      return `${source}: ${failure}; fence action 'restart-agent' — ${dry ? "would restart" : "restarting"} ${agentService}. ${NOT_A_FENCE}.`;
    case "log-only":
      return `${source}: ${failure}; fence action 'log-only' — taking no action. ${NOT_A_FENCE}. Operator must investigate.`;
    case "custom": {
      const runs = `${dry ? "would run" : "running"} ${customScript} (deadline ${formatSeconds(customDeadlineMs)}, sysrq b if it cannot run, fails or overruns)`;
      return `${source}: ${failure}; fence action 'custom' — ${runs}.${customFences ? "" : ` ${NOT_A_FENCE} (hb.fence.custom.fences is false).`}`;
    }
  }
}

/** syslog priorities: `hard-reboot` keeps upstream's default; log-only is the highest severity. */
export function decisionPriority(action: FenceActionName, decision: FenceDecision): string | undefined {
  if (decision.mode !== "act") return "user.warning";
  if (action === "hard-reboot") return undefined;
  return action === "log-only" ? "user.emerg" : "user.crit";
}

export function fallbackLine(source: string, why: string, from: FenceActionName = "graceful-reboot"): string {
  return `${source}: ${from} fell back to reboot (sysrq b): ${why}.`;
}

/**
 * The timing model's invariants as the record keeps them. @hb/config words each one as its
 * failure; one that holds is recorded with what holds instead, so that the record never reads
 * as a warning it is not.
 */
export function recordedInvariants(model: TimingModel): Invariant[] {
  return model.invariants.map((invariant) => (invariant.holds ? { ...invariant, message: holdsText(invariant.id, model) } : { ...invariant }));
}

function holdsText(id: string, model: TimingModel): string {
  const s = formatSeconds;
  const { verify } = model;
  switch (id) {
    case "neighbour-threshold-covers-writer":
      return `a neighbour calls DEAD only at an age over ${s(model.neighbourDeadAfterMs - 1000)}, longer than a healthy writer's longest gap between writes (${s(model.healthyMaxGapMs)}) plus a second of rounding`;
    case "fence-before-recovery":
      return model.fences && model.resetLatestMs !== null
        ? `the host is reset by ${s(model.resetLatestMs)}, before the management server may restart its VMs elsewhere (from ${s(model.earliestRecoveryElsewhereMs)})`
        : "the action does not reset the host, so there is no reset to order before recovery elsewhere (see fence-protects-disks)";
    case "fence-protects-disks":
      return model.fenceAction === "custom"
        ? "fence action custom fences (hb.fence.custom.fences=true, the operator's word): its script takes the host down, or hb resets it when the script cannot run, fails or overruns"
        : `fence action ${model.fenceAction} fences: the host is reset, so its VMs stop before CloudStack may start them elsewhere`;
    case "verify-fits-agent-timeout":
      return verify.mode === "none"
        ? "-c does not verify (hb.fence.verify=none): nothing has to fit inside heartbeat.update.timeout"
        : `-c verifies for at most ${s(verify.deadlineMs)}, inside heartbeat.update.timeout (${s(verify.agentKillsAtMs)}) with the action's ${s(verify.actionAnswerMs)} and ${s(verify.startMarginMs)} to start`;
    case "fence-verify-storage":
      return `hb.fence.verify is ${verify.mode}, not storage: one more heartbeat write that succeeds never keeps -c from fencing`;
    default:
      return `${id} holds`;
  }
}
