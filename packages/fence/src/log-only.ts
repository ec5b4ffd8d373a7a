import type { FenceAction, FenceDecision } from "@hb/core";
import type { FenceActionReport, FenceContext } from "./context.js";
import { FenceRun } from "./run.js";
import { NOT_A_FENCE } from "./wording.js";

/**
 * `log-only`: the record and one syslog line at the highest severity; nothing else (except the
 * optional split-brain guard). NOT a fence: the VMs keep running here.
 */
export class LogOnlyAction implements FenceAction {
  readonly name = "log-only" as const;

  constructor(private readonly ctx: FenceContext) {}

  async execute(decision: FenceDecision): Promise<FenceActionReport> {
    const run = new FenceRun(this.ctx, decision, this.name);
    const guard = this.ctx.settings.killAffectedVms ? ["stop the qemu processes with disks on the lost storage (hb.fence.kill.affected.vms)"] : [];
    await run.begin(["syslog at priority user.emerg", ...guard, "nothing else"]);
    await run.guardAffectedVms();
    const outcome = decision.mode === "suppressed" ? `not taken: ${decision.suppressedBy ?? "suppressed"}` : `logged, no action taken. ${NOT_A_FENCE}`;
    return run.finish({ acted: false, exitStatus: 0, outcome });
  }
}
