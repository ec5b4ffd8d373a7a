import { formatSeconds } from "@hb/config";
import type { FenceAction, FenceDecision } from "@hb/core";
import { currentUid } from "./adapters/processes.js";
import { processScriptRunner, type ScriptResult, type ScriptRunner } from "./adapters/script.js";
import type { FenceActionReport, FenceContext } from "./context.js";
import { checkCustomScript } from "./custom-script.js";
import { resetHost, resetPlan } from "./reboot.js";
import { FenceRun } from "./run.js";
import { fallbackLine } from "./wording.js";

/** Bytes of each output stream of the custom script kept in the record (fence.jsonl is read back 1 MiB at a time). */
export const CUSTOM_OUTPUT_MAX_BYTES = 4096;

// A fixed, short PATH: nothing of hb's own environment reaches a script run as root.
const SCRIPT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A NUL cannot be passed in an argument or a variable; hb's reasons never hold one, but a value
// that did must not keep the script from running.
const printable = (value: string) => value.replaceAll("\u0000", "\\0");

/**
 * The script's contract (packages/fence/README.md): `SCRIPT SOURCE POOL REASON` — `$1` is
 * upstream's (the source script's tag) — and the same in HB_FENCE_* variables, with the deadline.
 */
export function customScriptCall(run: FenceRun): { args: string[]; env: Record<string, string> } {
  const { ctx, decision } = run;
  const { customDeadlineMs, customFences } = run.settings;
  const deadlineWallMs = ctx.clock.wallMs() + customDeadlineMs;
  return {
    args: [ctx.source, decision.target, decision.reason].map(printable),
    env: {
      PATH: SCRIPT_PATH,
      HB_FENCE_SOURCE: printable(ctx.source),
      HB_FENCE_POOL: printable(decision.target),
      HB_FENCE_REASON: printable(decision.reason),
      HB_FENCE_CAUSE: ctx.cause ?? "heartbeat",
      HB_FENCE_ID: run.id,
      HB_FENCE_DEADLINE_MS: String(customDeadlineMs),
      HB_FENCE_DEADLINE_AT: new Date(deadlineWallMs).toISOString(),
      HB_FENCE_FENCES: String(customFences),
    },
  };
}

function describeRun(script: string, result: ScriptResult, deadlineMs: number): string {
  if (result.spawnError !== undefined) return `${script} could not be started (${result.spawnError})`;
  if (result.timedOut) return `${script} ran past its deadline of ${formatSeconds(deadlineMs)}: its process group was killed`;
  if (result.exitCode === 0) return `${script} exited 0`;
  const firstLine = (result.stderr.text || result.stdout.text).trim().split("\n")[0] ?? "";
  const status = result.exitCode === null ? `was killed by ${result.signal ?? "a signal"}` : `exited ${result.exitCode}`;
  return `${script} ${status}${firstLine === "" ? "" : ` (${firstLine.slice(0, 200)})`}`;
}

/**
 * `custom`: the operator's script, bounded. Upstream runs it with the source's tag as `$1` and
 * no deadline, and falls back to the sysrq reset only when it is missing or not executable. hb
 * also refuses a script anyone but root may change, kills the script's process group at
 * hb.fence.custom.deadline, and falls back to the reset when the script fails or overruns: a
 * decision to fence never ends in nothing. Whether the script itself fences is the operator's
 * word (hb.fence.custom.fences); until then hb treats it as not a fence (DESIGN rule 8).
 */
export class CustomAction implements FenceAction {
  readonly name = "custom" as const;

  constructor(
    private readonly ctx: FenceContext,
    private readonly runner: ScriptRunner = ctx.scriptRunner ?? processScriptRunner,
  ) {}

  async execute(decision: FenceDecision): Promise<FenceActionReport> {
    const { ctx } = this;
    const { customScript: script, customDeadlineMs: deadlineMs, customFences, killAffectedVms } = ctx.settings;
    const run = new FenceRun(ctx, decision, this.name);
    const guard = !customFences && killAffectedVms ? ["stop the qemu processes with disks on the lost storage (hb.fence.kill.affected.vms)"] : [];
    await run.begin([
      ...guard,
      `run ${script} ${ctx.source} <pool> <reason> (HB_FENCE_* variables), its process group killed at ${formatSeconds(deadlineMs)}`,
      `if it cannot run, fails or overruns: ${resetPlan(run).join(", ")}`,
    ]);
    if (decision.mode === "suppressed") {
      return run.finish({ acted: false, exitStatus: 0, outcome: `custom not taken: ${decision.suppressedBy ?? "suppressed"}` });
    }
    if (!customFences) await run.guardAffectedVms();
    const check = checkCustomScript(script, ctx.uid ?? currentUid());
    await run.step("check script", () => (check.ok ? { ok: true, detail: `${check.path}: root's, writable by no one else, executable` } : { ok: false, detail: `${script} ${check.detail}` }));
    if (run.dryRun) {
      const detail = check.ok
        ? `dry run: would run ${script} within ${formatSeconds(deadlineMs)}, and reset the host through sysrq b if it failed or overran`
        : `dry run: would fall back to reboot (${script} ${check.detail}) and write b to ${run.sysrq.path}`;
      await run.followUp("dry-run", detail, { script });
      return run.finish({ acted: false, exitStatus: 0, outcome: detail });
    }
    if (!check.ok) return this.fallBack(run, `${script} ${check.detail}`, check.refusal);

    const call = customScriptCall(run);
    let result: ScriptResult | undefined;
    const ran = await run.step("custom script", async () => {
      result = await this.runner.run({ file: check.path, args: call.args, env: call.env, deadlineMs, maxOutputBytes: CUSTOM_OUTPUT_MAX_BYTES });
      return { ok: result.exitCode === 0 && !result.timedOut, detail: describeRun(script, result, deadlineMs) };
    });
    if (result !== undefined) {
      await run.followUp("custom", ran.detail, {
        script,
        exitCode: result.exitCode,
        signal: result.signal,
        timedOut: result.timedOut,
        ...(result.spawnError === undefined ? {} : { spawnError: result.spawnError }),
        durationMs: Math.round(result.durationMs),
        deadlineMs,
        stdout: result.stdout.text,
        stdoutBytes: result.stdout.bytes,
        stdoutTruncated: result.stdout.truncated,
        stderr: result.stderr.text,
        stderrBytes: result.stderr.bytes,
        stderrTruncated: result.stderr.truncated,
      });
    }
    if (ran.ok) {
      return run.finish({ acted: true, exitStatus: 0, outcome: `${ran.detail}${customFences ? "" : " (not counted as a fence: hb.fence.custom.fences is false)"}` });
    }
    const refusal = result?.spawnError !== undefined ? "not-started" : result?.timedOut === true ? "deadline" : "failed";
    return this.fallBack(run, ran.detail, refusal);
  }

  private async fallBack(run: FenceRun, why: string, refusal: string): Promise<FenceActionReport> {
    await run.syslog(fallbackLine(this.ctx.source, why, "custom"), "user.crit");
    await run.followUp("fallback", `fell back to reboot: ${why}`, { why, refusal });
    return resetHost(run);
  }
}
