import type { FenceAction, FenceDecision } from "@hb/core";
import type { FenceActionReport, FenceContext } from "./context.js";
import { errorText } from "./deadline.js";
import { FenceRun } from "./run.js";

/**
 * `hard-reboot` (alias `reboot`): upstream's fence, bounded. Log, flush asynchronously (sysrq
 * `s` and a backgrounded `sync` that is never awaited), wait hb.fence.flush.wait, write `b`.
 */
export class RebootAction implements FenceAction {
  readonly name = "hard-reboot" as const;

  constructor(private readonly ctx: FenceContext) {}

  async execute(decision: FenceDecision): Promise<FenceActionReport> {
    const run = new FenceRun(this.ctx, decision, this.name);
    await run.begin(resetPlan(run));
    if (decision.mode === "suppressed") {
      return run.finish({ acted: false, exitStatus: 0, outcome: `hard-reboot not taken: ${decision.suppressedBy ?? "suppressed"}` });
    }
    return resetHost(run);
  }
}

export function resetPlan(run: FenceRun): string[] {
  const { sysrqTrigger, flushWaitMs } = run.settings;
  return [`sysrq s to ${sysrqTrigger} and sync in the background (never awaited)`, `wait ${flushWaitMs} ms`, `sysrq b to ${sysrqTrigger}`];
}

/**
 * The reset path, also graceful-reboot's fallback. Nothing here can block: `s` is queued by the
 * kernel, `sync` runs in a child nobody waits for, and `b` is a synchronous write.
 */
export async function resetHost(run: FenceRun): Promise<FenceActionReport> {
  const { executor, clock } = run.ctx;
  const { flushWaitMs, stepTimeoutMs } = run.settings;
  const trigger = run.sysrq.path;
  await run.step("flush", () => {
    const notes: string[] = [];
    let ok = true;
    if (run.dryRun) {
      notes.push(`dry run: s not written to ${trigger}`);
    } else {
      try {
        run.sysrq.write("s");
        notes.push(`s written to ${trigger}`);
      } catch (error) {
        ok = false;
        notes.push(`s not written to ${trigger}: ${errorText(error)}`);
      }
    }
    // Upstream's `sync &`: a sync stuck on the dead storage must not hold the reset.
    executor.run({ file: "sync", args: [], deadlineMs: Math.max(flushWaitMs, stepTimeoutMs) }).catch(() => undefined);
    notes.push("sync started in the background, not awaited");
    return { ok, detail: notes.join("; ") };
  });
  await run.step("wait", async () => {
    await clock.sleep(flushWaitMs);
    return { ok: true, detail: `${flushWaitMs} ms for the flush (hb.fence.flush.wait)` };
  });
  if (run.dryRun) {
    const detail = `dry run: would write b to ${trigger} (immediate reset, no unmount)`;
    await run.followUp("dry-run", detail, { wouldHave: [`b to ${trigger}`] });
    return run.finish({ acted: false, exitStatus: 0, outcome: detail });
  }
  const reset = await run.step("sysrq b", () => {
    run.sysrq.write("b");
    return { ok: true, detail: `b written to ${trigger}` };
  });
  return run.finish({
    acted: reset.ok,
    // `echo b > /proc/sysrq-trigger; exit $?`
    exitStatus: reset.ok ? 0 : 1,
    outcome: reset.ok ? `the host is being reset (b written to ${trigger})` : `the reset FAILED: ${reset.detail}`,
  });
}
