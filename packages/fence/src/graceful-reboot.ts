import { formatSeconds } from "@hb/config";
import type { FenceAction, FenceDecision } from "@hb/core";
import { systemdJobTimeoutBackstop, watchdogBackstop, type RebootBackstop } from "./backstops.js";
import type { FenceActionReport, FenceContext } from "./context.js";
import { resetHost, resetPlan } from "./reboot.js";
import { FenceRun } from "./run.js";
import { fallbackLine } from "./wording.js";

/** The resets graceful-reboot arms outside hb unless the context names its own. */
export function defaultBackstops(ctx: Pick<FenceContext, "executor" | "clock" | "settings">): RebootBackstop[] {
  const base = { executor: ctx.executor, clock: ctx.clock, stepTimeoutMs: ctx.settings.stepTimeoutMs };
  return [systemdJobTimeoutBackstop(base), watchdogBackstop({ ...base, device: ctx.settings.watchdogDevice })];
}

/**
 * `graceful-reboot`: `systemctl reboot`, with two layers of fallback to the reset path because a
 * clean shutdown can hang for ever in sync() or unmounting a dead NFS mount:
 * - outside hb, armed first: a reboot.target job timeout and/or a watchdog no longer kept alive,
 *   since the shutdown kills hb too;
 * - hb's own timer: if hb is still alive hb.fence.graceful.deadline after the action started
 *   (systemctl refused, or the shutdown stalled), it logs why and resets.
 */
export class GracefulRebootAction implements FenceAction {
  readonly name = "graceful-reboot" as const;

  constructor(private readonly ctx: FenceContext) {}

  async execute(decision: FenceDecision): Promise<FenceActionReport> {
    const { ctx } = this;
    const { gracefulDeadlineMs, flushWaitMs } = ctx.settings;
    const run = new FenceRun(ctx, decision, this.name);
    const backstops = ctx.backstops ?? defaultBackstops(ctx);
    // The outside reset fires when hb's own fallback would have finished.
    const backstopS = Math.ceil((gracefulDeadlineMs + flushWaitMs) / 1000);
    await run.begin([
      ...backstops.map((backstop) => `arm ${backstop.name} for ${backstopS} s`),
      "systemctl --no-block reboot",
      `if still up ${formatSeconds(gracefulDeadlineMs)} after the start: ${resetPlan(run).join(", ")}`,
    ]);
    if (decision.mode === "suppressed") {
      return run.finish({ acted: false, exitStatus: 0, outcome: `graceful-reboot not taken: ${decision.suppressedBy ?? "suppressed"}` });
    }
    if (run.dryRun) {
      const probes = backstops.map((backstop) => `${backstop.name}: ${backstop.probe().detail}`);
      const detail = `dry run: would arm ${backstops.map((backstop) => backstop.name).join(" and ") || "no backstop"}, run systemctl --no-block reboot, and reset at ${formatSeconds(gracefulDeadlineMs)} if still up`;
      await run.followUp("dry-run", detail, { backstops: probes });
      return run.finish({ acted: false, exitStatus: 0, outcome: detail });
    }

    for (const backstop of backstops) {
      await run.step(`arm ${backstop.name}`, () => backstop.arm(backstopS));
    }
    const request = await run.exec("systemctl reboot", "systemctl", ["--no-block", "reboot"]);
    // Upstream's script ends with `systemctl reboot; exit $?`.
    run.scriptExit(request.exitCode ?? 1);

    let why: string;
    const requestDetail = run.steps.at(-1)?.detail ?? "";
    if (request.exitCode !== 0 && !request.timedOut) {
      why = `the reboot was refused (${requestDetail})`;
    } else {
      const left = run.startMs + gracefulDeadlineMs - ctx.clock.monoMs();
      await run.step("wait for the shutdown", async () => {
        if (left > 0) await ctx.clock.sleep(left);
        return { ok: false, detail: `the host was still up ${formatSeconds(gracefulDeadlineMs)} after the action started` };
      });
      why = request.timedOut
        ? `systemctl reboot gave no answer and the host was still up after ${formatSeconds(gracefulDeadlineMs)}`
        : `the reboot was accepted but the host was still up after ${formatSeconds(gracefulDeadlineMs)} (the shutdown stalled)`;
    }
    await run.syslog(fallbackLine(ctx.source, why), "user.crit");
    await run.followUp("fallback", `fell back to reboot: ${why}`, { why });
    return resetHost(run);
  }
}
