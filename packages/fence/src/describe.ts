import { isFencingAction, type FenceActionName } from "@hb/config";

export interface FenceActionDescription {
  readonly action: FenceActionName;
  /** Whether the action takes the host down, so its VMs cannot run twice. */
  readonly fences: boolean;
  readonly summary: string;
}

const SUMMARIES: Record<FenceActionName, string> = {
  "hard-reboot": "flush asynchronously, wait, then reset the host through sysrq b",
  "graceful-reboot": "systemctl reboot, falling back to the sysrq reset at its deadline",
  "restart-agent": "restart the CloudStack agent; VMs keep running",
  "log-only": "log at the highest severity and record; nothing else",
  custom: "run the operator's script (kvm.heartbeat.fence.custom.script) within its deadline, falling back to the sysrq reset when it cannot run, fails or overruns",
};

/**
 * What an action does, and whether it protects the disks (DESIGN rule 8). `customFences` is
 * hb.fence.custom.fences: custom fences only when the operator says its script takes the host down.
 */
export function describeFenceAction(action: FenceActionName, customFences = false): FenceActionDescription {
  const fences = isFencingAction(action, customFences);
  const unsaid = action === "custom" ? " (hb.fence.custom.fences is false)" : "";
  const warning = fences ? "" : ` — NOT a fence${unsaid}: CloudStack may start this host's VMs elsewhere while they still run here (two writers on one disk)`;
  return { action, fences, summary: `${SUMMARIES[action]}${warning}` };
}
