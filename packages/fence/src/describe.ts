import { isFencingAction, type FenceActionName } from "@hb/config";

export interface FenceActionDescription {
  readonly action: FenceActionName;
  /** Whether the action takes the host down, so its VMs cannot run twice. */
  readonly fences: boolean;
  readonly summary: string;
}

const SUMMARIES: Record<FenceActionName, string> = {
  reboot: "flush asynchronously, wait, then reset the host through sysrq b",
  "graceful-reboot": "systemctl reboot, falling back to the sysrq reset at its deadline",
  "restart-agent": "restart the CloudStack agent; VMs keep running",
  "log-only": "log at the highest severity and record; nothing else",
};

/** What an action does, and whether it protects the disks (DESIGN rule 8). */
export function describeFenceAction(action: FenceActionName): FenceActionDescription {
  const fences = isFencingAction(action);
  const warning = fences ? "" : " — NOT a fence: CloudStack may start this host's VMs elsewhere while they still run here (two writers on one disk)";
  return { action, fences, summary: `${SUMMARIES[action]}${warning}` };
}
