import { formatSeconds, type FenceActionName } from "@hb/config";
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

function actionLine({ source, cause, action, decision, gracefulDeadlineMs, agentService }: WordingInput, failure: string): string {
  const dry = decision.mode === "dry-run";
  switch (action) {
    case "reboot":
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
  }
}

/** syslog priorities: `reboot` keeps upstream's default; log-only is the highest severity. */
export function decisionPriority(action: FenceActionName, decision: FenceDecision): string | undefined {
  if (decision.mode !== "act") return "user.warning";
  if (action === "reboot") return undefined;
  return action === "log-only" ? "user.emerg" : "user.crit";
}

export function fallbackLine(source: string, why: string): string {
  return `${source}: graceful-reboot fell back to reboot (sysrq b): ${why}.`;
}
