import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { askControl, DaemonUnreachableError, fetchStatus, sharedConfig } from "./daemon-client.js";

const USAGE = "hb status [--file F] [--json]";

// hbd's status document as shown here; every field is read defensively (an older or newer hbd).
interface TargetStatus {
  id?: string;
  kind?: string;
  state?: string | null;
  armed?: boolean;
  lastGoodAt?: string | null;
  lastGoodAgeMs?: number | null;
  consecutiveFailures?: number;
  latencyMs?: { p99?: number | null };
  decisionAtTheLatest?: string | null;
  lastChange?: { reason?: string } | null;
}
interface DaemonStatus {
  action?: string;
  fences?: boolean;
  dryRun?: boolean;
  maintenance?: { until?: string } | null;
  watchdog?: { mode?: string; armed?: boolean };
  stuckChildren?: number;
  eventLoopLagP99Ms?: number;
  decisions?: { at?: string; target?: string; action?: string; isFence?: boolean; mode?: string }[];
  vetoes?: { total?: number; vetoed?: number; deferred?: number };
  targets?: TargetStatus[];
  healthy?: boolean;
  statusEndpoint?: { listen?: string; bound?: boolean; error?: string | null };
  config?: { path?: string; loadedAt?: string; stale?: { since?: string; reason?: string } | null };
}

/**
 * hbd's status: over its control socket first (root only; it works when the TCP endpoint is not
 * bound, and no other program can answer there), else from the read-only TCP endpoint, saying so.
 */
async function readStatus(config: Awaited<ReturnType<typeof sharedConfig>>, deps: RunDeps): Promise<{ status: DaemonStatus; from: string }> {
  const step = config["hb.fence.step.timeout"];
  const control = await askControl(config["hb.state.dir"], { op: "status" }, deps, step);
  if (control.ok && typeof control.result === "object" && control.result !== null) return { status: control.result as DaemonStatus, from: control.socket };
  const why = control.ok ? `${control.socket} answered with something that is not hbd's status` : control.reason;
  const listen = config["hb.status.listen"];
  try {
    const status = (await fetchStatus(listen, step)) as DaemonStatus;
    if (typeof status !== "object" || status === null) throw new DaemonUnreachableError(`http://${listen}/status is not hbd's status`);
    // A stranger may hold that port: say where this came from.
    deps.stderr(`hb: hbd's control socket: ${why}; showing the read-only status endpoint http://${listen}/status instead\n`);
    return { status, from: `http://${listen}` };
  } catch (error) {
    throw new DaemonUnreachableError(`${(error as Error).message}; and hbd's control socket: ${why}`);
  }
}

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { values, positionals: words } = parseCommandArgs(argv, { file: { type: "string", short: "f" }, json: { type: "boolean" } }, USAGE);
  positionals(words, 0, USAGE);
  const config = await sharedConfig(values.file, deps);
  const { status } = await readStatus(config, deps);
  if (values.json) {
    deps.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  deps.stdout(formatStatus(status));
  return 0;
}

const text = (value: unknown, fallback = "-") => (typeof value === "string" && value !== "" ? value : fallback);
const time = (iso: string | null | undefined) => (typeof iso === "string" ? iso.slice(11, 19) : "-");

/** The status document in words: the table of pools, one footer line, and anything that needs attention. */
export function formatStatus(status: DaemonStatus): string {
  const targets = Array.isArray(status.targets) ? status.targets : [];
  const rows = [
    ["POOL", "KIND", "STATE", "ARMED", "LAST GOOD", "AGE", "P99", "FAILS", "DECISION BY"],
    ...targets.map((t) => [
      text(t.id, "?"),
      text(t.kind, "?"),
      text(t.state),
      t.armed === true ? "yes" : "no",
      time(t.lastGoodAt),
      typeof t.lastGoodAgeMs === "number" ? `${(t.lastGoodAgeMs / 1000).toFixed(1)} s` : "-",
      typeof t.latencyMs?.p99 === "number" ? `${Math.round(t.latencyMs.p99)} ms` : "-",
      String(t.consecutiveFailures ?? "-"),
      time(t.decisionAtTheLatest),
    ]),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n");
  const footer = [
    `action ${text(status.action, "?")}${status.fences === true ? " (fences)" : " (NOT a fence)"}${status.dryRun === true ? ", dry run" : ""}`,
    `maintenance ${status.maintenance === null || status.maintenance === undefined ? "off" : `until ${text(status.maintenance.until, "?")}`}`,
    `watchdog ${text(status.watchdog?.mode, "?")}${status.watchdog?.armed === true ? " (armed)" : ""}`,
    `stuck children ${status.stuckChildren ?? "?"}`,
    `event-loop lag p99 ${status.eventLoopLagP99Ms ?? "?"} ms`,
    ...(status.vetoes === undefined ? [] : [`-c vetoed ${status.vetoes.vetoed ?? 0}, deferred ${status.vetoes.deferred ?? 0}`]),
  ].join(" · ");
  const attention: string[] = [];
  if (status.healthy === false) attention.push("hbd reports itself NOT healthy (event-loop lag or a stalled loop): the agent's -c decides on its own");
  for (const target of targets) {
    if (target.state !== "inconclusive") continue;
    const reason = typeof target.lastChange?.reason === "string" ? ` (${target.lastChange.reason})` : "";
    attention.push(`${text(target.id, "?")} inconclusive: hb could not check it for its own reasons${reason}; not a failed try of the storage`);
  }
  const stale = status.config?.stale;
  if (stale !== null && stale !== undefined) {
    attention.push(`configuration stale since ${text(stale.since, "?")}: ${text(stale.reason, "no reason given")} (hbd keeps running on the configuration it had)`);
  }
  const endpoint = status.statusEndpoint;
  if (endpoint?.bound === false) {
    attention.push(`status endpoint ${text(endpoint.listen, "?")} NOT bound${typeof endpoint.error === "string" ? `: ${endpoint.error}` : ""} (hbd runs; only root sees it, over the control socket)`);
  }
  const decisions = (Array.isArray(status.decisions) ? status.decisions : []).map(
    (d) => `decision ${text(d.at, "?")}: ${text(d.target, "?")} → ${text(d.action, "?")}, ${d.isFence === true ? "fences" : text(d.mode, "?")}`,
  );
  return `${table}\n${footer}\n${[...attention, ...decisions].map((line) => `${line}\n`).join("")}`;
}
