import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { fetchStatus, sharedConfig } from "./daemon-client.js";

const USAGE = "hb status [--file F] [--json]";

interface TargetStatus {
  id: string;
  kind: string;
  state: string | null;
  armed: boolean;
  lastGoodAt: string | null;
  lastGoodAgeMs: number | null;
  consecutiveFailures: number;
  latencyMs: { p99: number | null };
  decisionAtTheLatest: string | null;
}
interface DaemonStatus {
  action: string;
  fences: boolean;
  dryRun: boolean;
  maintenance: { until: string } | null;
  watchdog: { mode: string; armed: boolean };
  stuckChildren: number;
  eventLoopLagP99Ms: number;
  decisions: { at: string; target: string; action: string; isFence: boolean; mode: string }[];
  vetoes?: { total: number; vetoed: number; deferred: number };
  targets: TargetStatus[];
}

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { values, positionals: words } = parseCommandArgs(argv, { file: { type: "string", short: "f" }, json: { type: "boolean" } }, USAGE);
  positionals(words, 0, USAGE);
  const config = await sharedConfig(values.file, deps);
  const status = (await fetchStatus(config["hb.status.listen"], config["hb.fence.step.timeout"])) as DaemonStatus;
  if (values.json) {
    deps.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  const time = (iso: string | null) => (iso === null ? "-" : iso.slice(11, 19));
  const rows = [
    ["POOL", "KIND", "STATE", "ARMED", "LAST GOOD", "AGE", "P99", "FAILS", "DECISION BY"],
    ...status.targets.map((t) => [
      t.id,
      t.kind,
      t.state ?? "-",
      t.armed ? "yes" : "no",
      time(t.lastGoodAt),
      t.lastGoodAgeMs === null ? "-" : `${(t.lastGoodAgeMs / 1000).toFixed(1)} s`,
      t.latencyMs.p99 === null ? "-" : `${Math.round(t.latencyMs.p99)} ms`,
      String(t.consecutiveFailures),
      time(t.decisionAtTheLatest),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n");
  const footer = [
    `action ${status.action}${status.fences ? " (fences)" : " (NOT a fence)"}${status.dryRun ? ", dry run" : ""}`,
    `maintenance ${status.maintenance === null ? "off" : `until ${status.maintenance.until}`}`,
    `watchdog ${status.watchdog.mode}${status.watchdog.armed ? " (armed)" : ""}`,
    `stuck children ${status.stuckChildren}`,
    `event-loop lag p99 ${status.eventLoopLagP99Ms} ms`,
    ...(status.vetoes === undefined ? [] : [`-c vetoed ${status.vetoes.vetoed}, deferred ${status.vetoes.deferred}`]),
  ].join(" · ");
  const decisions = status.decisions.map((d) => `decision ${d.at}: ${d.target} → ${d.action}, ${d.isFence ? "fences" : d.mode}`);
  deps.stdout(`${table}\n${footer}\n${decisions.map((line) => `${line}\n`).join("")}`);
  return 0;
}
