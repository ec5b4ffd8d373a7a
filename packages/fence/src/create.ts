import type { FenceActionName } from "@hb/config";
import type { FenceAction, FenceDecision } from "@hb/core";
import type { FenceActionReport, FenceContext } from "./context.js";
import { CustomAction } from "./custom.js";
import { GracefulRebootAction } from "./graceful-reboot.js";
import { LogOnlyAction } from "./log-only.js";
import { RebootAction } from "./reboot.js";
import { RestartAgentAction } from "./restart-agent.js";

/** A FenceAction whose report carries the steps, the record id and the script's exit status. */
export interface ReportingFenceAction extends FenceAction {
  execute(decision: FenceDecision): Promise<FenceActionReport>;
}

/** The action of a name (kvm.heartbeat.fence.action, its alias `reboot` already read as hard-reboot). */
export function createFenceAction(name: FenceActionName, ctx: FenceContext): ReportingFenceAction {
  switch (name) {
    case "hard-reboot":
      return new RebootAction(ctx);
    case "graceful-reboot":
      return new GracefulRebootAction(ctx);
    case "restart-agent":
      return new RestartAgentAction(ctx);
    case "log-only":
      return new LogOnlyAction(ctx);
    case "custom":
      return new CustomAction(ctx);
  }
}
