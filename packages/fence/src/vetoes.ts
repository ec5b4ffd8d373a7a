// -c calls that did not fence: a veto (hb.fence.verify) or a deferral to hbd leaves one line in
// fence.jsonl, one syslog line and a count in hbd; `hb fence last` reads them back.
import { printable, type Clock, type Executor } from "@hb/core";
import type { VetoCheck, VetoOutcome } from "@hb/protocol";
import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { readBootId } from "@hb/core/adapters";
import { AuditLog, type FenceVetoLine } from "./audit.js";
import { readFenceLogTail, type ReadFenceLogOptions } from "./history.js";
import { sendSyslog } from "./syslog.js";

/** A fact behind a veto or a deferral, for the record. */
export interface NoFenceEvidence {
  readonly [field: string]: unknown;
}

/** A -c call that did not fence, as one line of fence.jsonl (`hb fence last` counts them). */
export interface NoFenceRecord extends FenceVetoLine {
  readonly wallMs: number;
  readonly bootId: string | null;
  readonly host: string;
  readonly source: string;
  readonly target: string;
  readonly check: VetoCheck;
  /** The action the agent asked for and that was not taken. */
  readonly action: string;
  readonly reason: string;
  readonly detail: string;
  readonly evidence: NoFenceEvidence;
  readonly hbVersion: string;
}

export interface NoFence {
  /** kvmheartbeat.sh or kvmspheartbeat.sh. */
  readonly source: string;
  readonly target: string;
  readonly outcome: VetoOutcome;
  readonly check: VetoCheck;
  readonly detail: string;
  readonly evidence: NoFenceEvidence;
  /** The configured action, not taken. */
  readonly action: string;
}

export interface RecordNoFenceOptions {
  readonly executor: Executor;
  readonly clock: Clock;
  readonly stateDir: string;
  /** hb.fence.step.timeout: the bound of each of the three. */
  readonly stepMs: number;
  readonly version: string;
  /** Tells hbd (best effort); resolves to what happened, in words. */
  readonly report: (report: { readonly op: "fence-veto"; readonly outcome: VetoOutcome; readonly check: VetoCheck; readonly source: string; readonly target: string; readonly detail: string }) => Promise<string>;
}

export interface NoFenceOutcome {
  readonly record: NoFenceRecord;
  readonly recorded: string;
  readonly syslog: string;
  readonly reported: string;
}

/**
 * Record that a -c did not fence: fence.jsonl, syslog (tag heartbeat), and hbd's counter. Run
 * together, each bounded by the step deadline; none of them can hold the exit.
 */
export async function recordNoFence(noFence: NoFence, options: RecordNoFenceOptions): Promise<NoFenceOutcome> {
  const { clock, stepMs: step } = options;
  const { source, action } = noFence;
  const wallMs = clock.wallMs();
  const record: NoFenceRecord = {
    kind: noFence.outcome === "vetoed" ? "veto" : "deferral",
    id: randomUUID(),
    wallTime: new Date(wallMs).toISOString(),
    wallMs,
    monoMs: clock.monoMs(),
    bootId: readBootId(),
    host: hostname(),
    source,
    target: noFence.target,
    check: noFence.check,
    action,
    reason: `the CloudStack agent ran ${source} -c`,
    detail: noFence.detail,
    evidence: noFence.evidence,
    hbVersion: options.version,
  };
  const line =
    noFence.outcome === "deferred"
      ? `${source} -c: not fencing (${action}), deferred to hbd: ${noFence.detail}.`
      : `${source} -c: not fencing (${action}), vetoed by hb.fence.verify=${noFence.check}: ${noFence.detail}.`;
  const audit = new AuditLog(options.stateDir, clock, step, options.executor);
  const report = { op: "fence-veto" as const, outcome: noFence.outcome, check: noFence.check, source, target: noFence.target, detail: noFence.detail.slice(0, 300) };
  const [recorded, syslog, reported] = await Promise.all([
    audit.append(record).then((result) => result.detail),
    sendSyslog(options.executor, line, "user.warning", step).then(
      (result) => (result.timedOut ? `logger gave no answer within ${step} ms` : result.exitCode === 0 ? "sent" : `logger exit ${result.exitCode ?? result.signal ?? "?"}`),
      (error: unknown) => `not sent: ${(error as Error).message}`,
    ),
    options.report(report),
  ]);
  return { record, recorded, syslog, reported };
}

// ---------------------------------------------------------------------------------------------
// Reading them back, for `hb fence last`.

export interface NoFenceSummary {
  /** Counted after the newest fence decision (or in the whole log when there is none). */
  readonly afterDecision: string | null;
  readonly count: number;
  readonly vetoed: number;
  readonly deferred: number;
  readonly byCheck: Readonly<Record<VetoCheck, number>>;
  readonly newest: NoFenceRecord | null;
}

/** The -c calls that did not fence since the newest decision in fence.jsonl; null when there is no log or it cannot be read. */
export async function readNoFences(stateDir: string, options: ReadFenceLogOptions = {}): Promise<NoFenceSummary | null> {
  const tail = await readFenceLogTail(stateDir, options).catch(() => null);
  return tail === null ? null : summarizeNoFences(tail.text);
}

/** The same, from the text of fence.jsonl: lines that are not vetoes, deferrals or decisions are skipped. */
export function summarizeNoFences(text: string): NoFenceSummary {
  let afterDecision: string | null = null;
  let lines: NoFenceRecord[] = [];
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue;
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) continue;
    const entry = value as Record<string, unknown>;
    if (entry.kind === "decision") {
      afterDecision = typeof entry.id === "string" ? entry.id : null;
      lines = [];
    } else if ((entry.kind === "veto" || entry.kind === "deferral") && typeof entry.check === "string") {
      lines.push(entry as unknown as NoFenceRecord);
    }
  }
  const byCheck: Record<VetoCheck, number> = { "drbd-quorum": 0, storage: 0, hbd: 0 };
  for (const line of lines) if (Object.hasOwn(byCheck, line.check)) byCheck[line.check]++;
  const vetoed = lines.filter((line) => line.kind === "veto").length;
  return { afterDecision, count: lines.length, vetoed, deferred: lines.length - vetoed, byCheck, newest: lines.at(-1) ?? null };
}

/** In words, for `hb fence last`; empty when no -c was vetoed or deferred. */
export function describeNoFences(summary: NoFenceSummary | null): string {
  if (summary === null || summary.count === 0) return "";
  const checks = (Object.entries(summary.byCheck) as [VetoCheck, number][])
    .filter(([check, count]) => count > 0 && check !== "hbd")
    .map(([check, count]) => `${check} ${count}`);
  const parts = [
    ...(summary.vetoed > 0 ? [`${summary.vetoed} vetoed (${checks.join(", ")})`] : []),
    ...(summary.deferred > 0 ? [`${summary.deferred} deferred to hbd`] : []),
  ];
  const calls = `${summary.count} -c call${summary.count === 1 ? "" : "s"} of the agent did not fence: ${parts.join(", ")}.`;
  const lines = [summary.afterDecision === null ? calls : `Since then, ${calls}`];
  const newest = summary.newest;
  // A line of the log as read: any field may be missing or odd, and none may forge a line of its own.
  const field = (value: unknown) => (typeof value === "string" && value !== "" ? printable(value) : "?");
  if (newest !== null) lines.push(`  newest: ${field(newest.wallTime)} ${field(newest.source)} (${newest.kind === "veto" ? "vetoed" : "deferred"}): ${field(newest.detail)}`);
  return `${lines.join("\n")}\n`;
}
