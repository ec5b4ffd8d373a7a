import { isFencingAction, type FenceActionName } from "@hb/config";
import type { ExecResult, FenceDecision } from "@hb/core";
import { BOOT_ID_FILE, readBootId } from "@hb/core/adapters";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { describeStops, stopProcesses } from "./affected-vms.js";
import { AuditLog, type FenceFollowUp, type FenceRecord } from "./audit.js";
import type { FenceActionReport, FenceContext, FenceStep } from "./context.js";
import { errorText, withinDeadline } from "./deadline.js";
import { describeFenceAction } from "./describe.js";
import { fileSysrqTrigger, type SysrqTrigger } from "./sysrq.js";
import { describeExec, sendSyslog } from "./syslog.js";
import { decisionLine, decisionPriority, recordedInvariants } from "./wording.js";


export interface StepResult {
  readonly ok: boolean;
  readonly detail: string;
}

/**
 * One execution of an action: the shared steps around it (record, syslog, guard) and the
 * report. Every step is bounded; a step that fails or hangs is reported and the run goes on.
 */
export class FenceRun {
  readonly id = randomUUID();
  readonly steps: FenceStep[] = [];
  readonly startMs: number;
  readonly audit: AuditLog;
  readonly sysrq: SysrqTrigger;
  recorded = false;
  /** The first syslog line was abandoned at its deadline: later lines are not sent. */
  private syslogHung = false;
  private exitReported = false;

  constructor(
    readonly ctx: FenceContext,
    readonly decision: FenceDecision,
    readonly action: FenceActionName,
  ) {
    this.startMs = ctx.clock.monoMs();
    this.audit = new AuditLog(ctx.settings.stateDir, ctx.clock, ctx.settings.stepTimeoutMs, ctx.executor);
    this.sysrq = ctx.sysrq ?? fileSysrqTrigger(ctx.settings.sysrqTrigger);
  }

  get settings() {
    return this.ctx.settings;
  }

  get dryRun(): boolean {
    return this.decision.mode === "dry-run";
  }

  async step(name: string, work: () => Promise<StepResult> | StepResult): Promise<StepResult> {
    const started = this.ctx.clock.monoMs();
    let result: StepResult;
    try {
      result = await work();
    } catch (error) {
      result = { ok: false, detail: errorText(error) };
    }
    this.steps.push({ name, startedAtMs: started - this.startMs, durationMs: this.ctx.clock.monoMs() - started, ...result });
    return result;
  }

  /** A program under the step deadline. */
  async exec(name: string, file: string, args: readonly string[]): Promise<ExecResult> {
    const deadlineMs = this.settings.stepTimeoutMs;
    let result: ExecResult | undefined;
    await this.step(name, async () => {
      result = await this.ctx.executor.run({ file, args, deadlineMs });
      return { ok: result.exitCode === 0, detail: describeExec([file, ...args].join(" "), result, deadlineMs) };
    });
    return result ?? { exitCode: null, signal: null, stdout: "", stderr: "", timedOut: false, durationMs: 0 };
  }

  async syslog(line: string, priority: string | undefined): Promise<StepResult> {
    if (this.syslogHung) {
      const skipped = { ok: false, detail: `not sent (logger hung before): ${line}` };
      this.steps.push({ name: "syslog", startedAtMs: this.ctx.clock.monoMs() - this.startMs, durationMs: 0, ...skipped });
      return skipped;
    }
    const deadlineMs = this.settings.stepTimeoutMs;
    return this.step("syslog", async () => {
      const result = await sendSyslog(this.ctx.executor, line, priority, deadlineMs);
      if (result.timedOut) this.syslogHung = true;
      return { ok: result.exitCode === 0, detail: `${describeExec("logger", result, deadlineMs)}: ${line}` };
    });
  }

  /** The record, then the syslog line: before anything else happens. */
  async begin(plan: readonly string[]): Promise<void> {
    const record = this.buildRecord(plan);
    const written = await this.step("record", () => this.audit.append(record));
    this.recorded = written.ok;
    const { ctx } = this;
    await this.syslog(
      decisionLine({
        source: ctx.source,
        cause: ctx.cause ?? "heartbeat",
        action: this.action,
        decision: this.decision,
        gracefulDeadlineMs: this.settings.gracefulDeadlineMs,
        agentService: this.settings.agentService,
        customScript: this.settings.customScript,
        customDeadlineMs: this.settings.customDeadlineMs,
        customFences: this.settings.customFences,
      }),
      decisionPriority(this.action, this.decision),
    );
    const notes = [...(ctx.notices ?? []), ...(written.ok ? [] : [`fence record ${written.detail}`])];
    if (notes.length > 0) await this.syslog(`${ctx.source}: ${notes.join("; ")}`, "user.warning");
  }

  async followUp(kind: FenceFollowUp["kind"], detail: string, fields: Record<string, unknown> = {}): Promise<void> {
    const line: FenceFollowUp = {
      ...fields,
      kind,
      id: this.id,
      wallTime: new Date(this.ctx.clock.wallMs()).toISOString(),
      monoMs: this.ctx.clock.monoMs(),
      detail,
    };
    await this.step(`record ${kind}`, () => this.audit.append(line));
  }

  /**
   * The split-brain guard (`hb.fence.kill.affected.vms`): before a non-fencing action, stop the
   * qemu processes with disks on the lost target, and report each pid.
   */
  async guardAffectedVms(): Promise<void> {
    const { ctx } = this;
    if (!this.settings.killAffectedVms || this.decision.mode === "suppressed") return;
    const discovery = ctx.affectedVms;
    if (discovery === undefined) {
      const detail = `hb.fence.kill.affected.vms is true, but ${ctx.source} cannot tell which VMs use ${this.decision.target}: no VM was stopped`;
      await this.step("affected VMs", () => ({ ok: false, detail }));
      await this.syslog(`${ctx.source}: ${detail}.`, "user.crit");
      return;
    }
    let pids: readonly number[] = [];
    const found = await this.step("find affected VMs", async () => {
      const controller = new AbortController();
      const settled = await withinDeadline(ctx.clock, this.settings.stepTimeoutMs, discovery.find(this.decision.target, controller.signal));
      if (!settled.done) {
        controller.abort();
        return { ok: false, detail: `no answer within ${this.settings.stepTimeoutMs} ms; no VM was stopped` };
      }
      pids = settled.value;
      return { ok: true, detail: pids.length === 0 ? "none" : `pids ${pids.join(", ")}` };
    });
    if (!found.ok || pids.length === 0) return;
    if (this.dryRun) {
      await this.followUp("affected-vms", `dry run: would stop pids ${pids.join(", ")} (SIGTERM, then SIGKILL)`, { pids });
      return;
    }
    let detail = "";
    await this.step("stop affected VMs", async () => {
      const results = await stopProcesses(pids, {
        clock: ctx.clock,
        graceMs: this.settings.stepTimeoutMs,
        ...(discovery.signal === undefined ? {} : { signal: discovery.signal }),
        ...(discovery.isRunning === undefined ? {} : { isRunning: discovery.isRunning }),
      });
      detail = describeStops(results);
      await this.followUp("affected-vms", detail, { vms: results });
      return { ok: results.every((result) => result.outcome !== "survived"), detail };
    });
    await this.syslog(`${ctx.source}: split-brain guard for ${this.decision.target}: ${detail}.`, "user.crit");
  }

  /** Where upstream's script would exit; reported once. */
  scriptExit(status: number): void {
    if (this.exitReported) return;
    this.exitReported = true;
    try {
      this.ctx.onScriptExit?.(status);
    } catch {
      // A listener that has gone away (the agent killed the script) must not stop the action.
    }
  }

  finish(result: { readonly outcome: string; readonly acted: boolean; readonly exitStatus: number }): FenceActionReport {
    this.scriptExit(result.exitStatus);
    return { action: this.action, ...result, recordId: this.id, recorded: this.recorded, steps: [...this.steps] };
  }

  private buildRecord(plan: readonly string[]): FenceRecord {
    const { ctx, decision } = this;
    const description = describeFenceAction(this.action, this.settings.customFences);
    const notices = [...(ctx.notices ?? [])];
    if (decision.action !== this.action) notices.push(`the decision named ${decision.action}; ${this.action} runs`);
    return {
      kind: "decision",
      id: this.id,
      wallTime: new Date(ctx.clock.wallMs()).toISOString(),
      wallMs: ctx.clock.wallMs(),
      monoMs: ctx.clock.monoMs(),
      bootId: readBootId(ctx.bootIdFile ?? BOOT_ID_FILE),
      host: ctx.host ?? hostname(),
      source: ctx.source,
      target: decision.target,
      reason: decision.reason,
      action: this.action,
      fences: description.fences,
      isFence: decision.mode === "act" && isFencingAction(this.action, this.settings.customFences),
      mode: decision.mode,
      ...(decision.suppressedBy === undefined ? {} : { suppressedBy: decision.suppressedBy }),
      dryRun: decision.mode === "dry-run",
      summary: description.summary,
      plan,
      history: decision.history,
      lastAttempts: decision.lastAttempts,
      timing: {
        decisionAtMs: decision.atMs,
        decisionWallTime: decision.wallTime,
        arithmetic: decision.arithmetic,
        flushWaitMs: this.settings.flushWaitMs,
        gracefulDeadlineMs: this.settings.gracefulDeadlineMs,
        stepTimeoutMs: this.settings.stepTimeoutMs,
        ...(this.action === "custom" ? { customDeadlineMs: this.settings.customDeadlineMs } : {}),
        model: { ...decision.timing, invariants: recordedInvariants(decision.timing) },
      },
      notices,
      hbVersion: ctx.version,
    };
  }
}
