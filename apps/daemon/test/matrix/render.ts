import { deriveTiming, formatSeconds, type TimingModel } from "@hb/config";
import type { MatrixRow, ReaderRow } from "../fault-matrix.table.js";
import { judgeReader, type ReaderResult } from "./run-reader.js";
import { configOf, faultEndMs, rowProperties, type RowResult } from "./run-row.js";

/** What a row's result breaks of its promise, in words; empty when it holds. */
export function judge(row: MatrixRow, result: RowResult): string[] {
  const problems: string[] = [];
  if (result.states.join(" > ") !== row.states.join(" > ")) problems.push(`states ${result.states.join(" > ")}, expected ${row.states.join(" > ")}`);
  switch (row.decision) {
    case "none":
      if (result.decisionMs !== null) problems.push(`a decision ${ms(result.decisionMs)} after the last good heartbeat, expected none`);
      break;
    case "watchdog": {
      const gap = result.keepaliveGapMs ?? 0;
      const timeout = result.watchdogTimeoutMs ?? Infinity;
      if (gap < timeout) problems.push(`the longest span without a keepalive was ${ms(gap)}: the device (timeout ${ms(timeout)}) would not have reset the host`);
      break;
    }
    default:
      if (result.decisionMs === null || result.predictedMs === null) problems.push("no decision");
      else if (Math.abs(result.decisionMs - result.predictedMs) > row.toleranceMs)
        problems.push(`decision ${ms(result.decisionMs)} after the last good heartbeat, predicted ${ms(result.predictedMs)} ± ${row.toleranceMs} ms`);
  }
  if (result.resetWindow !== null) {
    const { minMs, maxMs } = result.resetWindow;
    const at = result.resetAfterDecisionMs;
    if (at === null) problems.push("b never reached the sysrq trigger");
    else if (at < minMs || at > maxMs + row.toleranceMs) problems.push(`b written ${ms(at)} after the decision, expected from ${ms(minMs)} to ${ms(maxMs)} (+ ${row.toleranceMs} ms)`);
  }
  for (const check of result.checks) if (!check.ok) problems.push(`${check.what}: ${check.detail}`);
  return problems;
}

function ms(value: number): string {
  return `${Math.round(value)} ms`;
}

function seconds(value: number): string {
  return `${(value / 1000).toFixed(2)} s`;
}

function signed(value: number): string {
  return `${value >= 0 ? "+" : "−"}${Math.abs(Math.round(value))} ms`;
}

/** The fault in words, with the row's own settings and, for a fault that ends, when it ends. */
function faultText(row: MatrixRow, base: Readonly<Record<string, string>>): string {
  const parts = [row.fault];
  if (row.inject.kind === "storage" && row.inject.ends !== undefined) {
    const config = configOf(rowProperties(row, base));
    parts.push(`(ends ${formatSeconds(faultEndMs(row.inject.ends, config, deriveTiming(config)))} after the last good heartbeat)`);
  }
  if (row.action !== undefined) parts.push(`(action ${row.action})`);
  const own = Object.entries(row.properties ?? {}).map(([key, value]) => `\`${key}=${value}\``);
  if (own.length > 0) parts.push(`(${own.join(", ")})`);
  return parts.join(" ");
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

export function expectedDecision(row: MatrixRow, timing: TimingModel, result: RowResult | undefined): string {
  switch (row.decision) {
    case "none":
      return "none";
    case "watchdog":
      return result?.watchdogTimeoutMs === undefined ? "device reset at its timeout after the last keepalive" : `device reset ${formatSeconds(result.watchdogTimeoutMs)} after the last keepalive`;
    case "latest":
      return `${formatSeconds(timing.decisionLatestMs)} (decisionLatestMs)`;
    case "earliest":
      return `${formatSeconds(timing.decisionEarliestMs)} (decisionEarliestMs) + the failing tries' own time${result?.predictedMs === null || result === undefined ? "" : ` = ${seconds(result.predictedMs)}`}`;
  }
}

function measuredDecision(row: MatrixRow, result: RowResult): string {
  if (row.decision === "watchdog") return `no keepalive for ${seconds(result.keepaliveGapMs ?? 0)}`;
  if (result.decisionMs === null) return `none (watched ${seconds(result.watchedMs)})`;
  return `${seconds(result.decisionMs)}${result.predictedMs === null ? "" : ` (${signed(result.decisionMs - result.predictedMs)})`}`;
}

function measuredReset(result: RowResult): string {
  if (result.resetWindow === null) return "—";
  const window = `${formatSeconds(result.resetWindow.minMs)} to ${formatSeconds(result.resetWindow.maxMs)}`;
  return result.resetAfterDecisionMs === null ? `never (expected ${window})` : `${seconds(result.resetAfterDecisionMs)} (expected ${window})`;
}

export interface RenderInput {
  readonly rows: readonly MatrixRow[];
  readonly results: ReadonlyMap<string, RowResult | Error>;
  readonly skipped: ReadonlyMap<string, string>;
  /** The timing model of MATRIX_PROPERTIES (rows with their own properties show theirs). */
  readonly timing: TimingModel;
  readonly properties: Readonly<Record<string, string>>;
  readonly date: Date;
  readonly machine: string;
  readonly durationMs: number;
  /** The neighbour side: reader rows, their results, and why they did not run (null: they ran). */
  readonly readers: readonly ReaderRow[];
  readonly readerResults: ReadonlyMap<string, ReaderResult | Error>;
  readonly readersSkipped: string | null;
}

/** docs/fault-matrix.md: the table with the last measured times. */
export function renderMatrix(input: RenderInput): string {
  const { timing } = input;
  const lines = [
    "# Fault matrix",
    "",
    "hb's claim is that it fences when and only when it should, on time, without hanging. Each row below",
    "injects one fault into a pool of a running hbd and checks the pool's state sequence and the time of the",
    "decision against hb's timing model. Generated by `apps/daemon/test/fault-matrix.test.ts` from the table",
    "in `apps/daemon/test/fault-matrix.table.ts`; run it with `cd apps/daemon && npx vitest run test/fault-matrix.test.ts`",
    "(it is part of `pnpm test`). The last table, [Readers: the neighbour side](#readers-the-neighbour-side), is",
    "the other half: hb's readers judging another host's heartbeat file under a fault (reader EIO).",
    "",
    "How: hbd's `Daemon` with hbd's own wiring runs in the test process and reads a real `agent.properties`.",
    "Every heartbeat is a real child process. NFS pools are real FUSE mounts (`@hb/testkit` faultfs) whose",
    "operations are delayed, held in the kernel or failed with an errno; the mount table hbd checks is a",
    "file. DRBD pools run a fake `drbdsetup` that replays the fixtures of `packages/storage-drbd/test/fixtures`.",
    "`logger`, `sync`, `modprobe` and `systemctl` (which hangs) are fakes on PATH; the sysrq trigger and the",
    "watchdog device are files. Times are on hbd's monotonic clock, from the last good heartbeat (the end of",
    "the last successful attempt); `b` is the moment the key reached the sysrq trigger file.",
    "",
    `Last run: ${input.date.toISOString().replace(/\.\d+Z$/, "Z")}, ${input.machine}; the matrix took ${seconds(input.durationMs)}.`,
    "",
    `Settings of every row: ${Object.entries(input.properties)
      .map(([key, value]) => `\`${key}=${value}\``)
      .join(", ")}, \`kvm.heartbeat.fence.action=reboot\` unless the row says otherwise.`,
    `Timing model: decision at the earliest ${formatSeconds(timing.decisionEarliestMs)} and at the latest ${formatSeconds(timing.decisionLatestMs)} after the last good heartbeat;`,
    `the reboot action resets by ${formatSeconds(timing.resetLatestMs ?? 0)} (${formatSeconds((timing.resetLatestMs ?? 0) - timing.decisionLatestMs)} after the decision at the latest).`,
    "",
    "| # | case | fault | expected states | measured states | expected decision (after the last good heartbeat) | measured | tolerance | `b` after the decision | result |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  input.rows.forEach((row, index) => {
    const result = input.results.get(row.id);
    const skipped = input.skipped.get(row.id);
    const expected = row.states.join(" → ");
    const head = [String(index + 1), cell(row.case), cell(faultText(row, input.properties)), expected];
    if (skipped !== undefined) {
      lines.push(`| ${[...head, "—", cell(expectedDecision(row, timing, undefined)), "—", "—", "—", cell(`skipped: ${skipped}`)].join(" | ")} |`);
      return;
    }
    if (result === undefined || result instanceof Error) {
      const why = result === undefined ? "not run" : `error: ${result.message.split("\n")[0] ?? ""}`;
      lines.push(`| ${[...head, "—", cell(expectedDecision(row, timing, undefined)), "—", "—", "—", cell(why)].join(" | ")} |`);
      return;
    }
    const problems = judge(row, result);
    const tolerance = row.decision === "none" ? "—" : row.decision === "watchdog" ? "gap ≥ timeout" : `± ${row.toleranceMs} ms`;
    lines.push(
      `| ${[
        ...head,
        result.states.join(" → "),
        cell(expectedDecision(row, result.timing, result)),
        cell(measuredDecision(row, result)),
        tolerance,
        cell(measuredReset(result)),
        problems.length === 0 ? "pass" : cell(`FAIL: ${problems.join("; ")}`),
      ].join(" | ")} |`,
    );
  });
  lines.push("", "Also checked, per row (what was seen in brackets):", "");
  for (const row of input.rows) {
    const result = input.results.get(row.id);
    if (result === undefined || result instanceof Error || result.checks.length === 0) continue;
    const checks = result.checks.map((check) => `${check.what} (${check.ok ? check.detail : `FAILED: ${check.detail}`})`).join("; ");
    lines.push(`- ${row.case}${row.also === undefined ? "" : ` — ${row.also}`}: ${checks}.`);
  }
  lines.push("", ...renderReaders(input), "");
  return lines.join("\n");
}

/** The readers' table: what the agent reads from hb about a neighbour whose file is under a fault. */
function renderReaders(input: RenderInput): string[] {
  const lines = [
    "## Readers: the neighbour side",
    "",
    "hbd writes this host's heartbeat; it never judges another host's. These rows run the readers the",
    "agent runs about a suspect (`hb nfs check`, and `kvmheartbeat.sh -r`, which is `hb compat kvmheartbeat -r`)",
    "as the agent runs them: the built `hb`, by path, stdout and stderr merged, killed at 30 s. The pool is a",
    "real FUSE mount (`@hb/testkit` faultfs); the suspect is 10.0.0.9, its `hb-` file 600 s old against a",
    "60 s threshold. The agent reads only the first line: DEAD there lets CloudStack restart the suspect's",
    "VMs elsewhere, so a reader says DEAD only on evidence (a readable timestamp older than the threshold).",
    "Same test, same run as the table above.",
    "",
    "| # | case | fault | command | expected | exit | first line (what the agent reads) | took | result |",
    "|---|---|---|---|---|---|---|---|---|",
  ];
  input.readers.forEach((row, index) => {
    const command = row.reader === "nfs-check" ? "`hb nfs check --mount M --host 10.0.0.9`" : "`hb compat kvmheartbeat … -h 10.0.0.9 -r -t 60`";
    const head = [`R${index + 1}`, cell(row.case), cell(row.fault), command, cell(row.expected.verdict)];
    const result = input.readerResults.get(row.id);
    if (input.readersSkipped !== null) {
      lines.push(`| ${[...head, "—", "—", "—", cell(`skipped: ${input.readersSkipped}`)].join(" | ")} |`);
      return;
    }
    if (result === undefined || result instanceof Error) {
      lines.push(`| ${[...head, "—", "—", "—", cell(result === undefined ? "not run" : `error: ${result.message.split("\n")[0] ?? ""}`)].join(" | ")} |`);
      return;
    }
    const problems = judgeReader(row, result);
    lines.push(
      `| ${[...head, String(result.exitCode), cell(`\`${result.firstLine}\``), seconds(result.durationMs), problems.length === 0 ? "pass" : cell(`FAIL: ${problems.join("; ")}`)].join(" | ")} |`,
    );
  });
  return lines;
}
