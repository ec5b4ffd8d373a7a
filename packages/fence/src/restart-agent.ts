import type { FenceAction, FenceDecision } from "@hb/core";
import type { FenceActionReport, FenceContext } from "./context.js";
import { FenceRun } from "./run.js";
import { NOT_A_FENCE } from "./wording.js";

/** systemd unit names: no option-like or shell-like text reaches systemctl. */
const UNIT_NAME = /^[A-Za-z0-9:_.\\@-]+$/;

export function isUnitName(name: string): boolean {
  return UNIT_NAME.test(name) && !name.startsWith("-");
}

/**
 * `restart-agent`: restart hb.fence.agent.service without waiting for the job (`--no-block`):
 * the caller may be a child of that unit and die with it. NOT a fence: the VMs keep running.
 */
export class RestartAgentAction implements FenceAction {
  readonly name = "restart-agent" as const;

  constructor(private readonly ctx: FenceContext) {}

  async execute(decision: FenceDecision): Promise<FenceActionReport> {
    const run = new FenceRun(this.ctx, decision, this.name);
    const service = this.ctx.settings.agentService;
    const guard = this.ctx.settings.killAffectedVms ? ["stop the qemu processes with disks on the lost storage (hb.fence.kill.affected.vms)"] : [];
    await run.begin([...guard, `systemctl --no-block restart ${service}`]);
    if (decision.mode === "suppressed") {
      return run.finish({ acted: false, exitStatus: 0, outcome: `not taken: ${decision.suppressedBy ?? "suppressed"}` });
    }
    await run.guardAffectedVms();
    if (!isUnitName(service)) {
      const detail = `hb.fence.agent.service=${JSON.stringify(service)} is not a systemd unit name; nothing restarted`;
      await run.step("systemctl restart", () => ({ ok: false, detail }));
      await run.syslog(`${this.ctx.source}: ${detail}.`, "user.crit");
      return run.finish({ acted: false, exitStatus: 1, outcome: detail });
    }
    if (run.dryRun) {
      const detail = `dry run: would run systemctl --no-block restart ${service}`;
      await run.followUp("dry-run", detail, { wouldHave: [`systemctl --no-block restart ${service}`] });
      return run.finish({ acted: false, exitStatus: 0, outcome: detail });
    }
    const restart = await run.exec("systemctl restart", "systemctl", ["--no-block", "restart", service]);
    const ok = restart.exitCode === 0;
    return run.finish({
      acted: ok,
      exitStatus: restart.exitCode ?? 1,
      outcome: ok ? `restart of ${service} requested. ${NOT_A_FENCE}` : `restart of ${service} FAILED (${run.steps.at(-1)?.detail ?? ""}). ${NOT_A_FENCE}`,
    });
  }
}
