import { statusSettings } from "@hb/config";
import { printable } from "@hb/core";
import { readStatus } from "@hb/protocol";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { sharedConfig } from "../lib/config.js";
import { askControl, DaemonUnreachableError, fetchStatus } from "../lib/hbd-client.js";

const USAGE = "hb status [--file F] [--json]";

/**
 * hbd's status: over its control socket first (root only; it works when the TCP endpoint is not
 * bound, and no other program can answer there), else from the read-only TCP endpoint, saying so.
 */
async function askStatus(config: Awaited<ReturnType<typeof sharedConfig>>, deps: RunDeps): Promise<{ status: object; from: string }> {
  const { stateDir, stepTimeoutMs: step, statusListen: listen } = statusSettings(config);
  const control = await askControl(stateDir, { op: "status" }, deps, step);
  if (control.ok && typeof control.result === "object" && control.result !== null) return { status: control.result, from: control.socket };
  const why = control.ok ? `${control.socket} answered with something that is not hbd's status` : control.reason;
  try {
    const status = await fetchStatus(listen, step);
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
  const { status } = await askStatus(config, deps);
  if (values.json) {
    deps.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  deps.stdout(formatStatus(status));
  return 0;
}

// Text from hbd's document, printable: a pool name cannot start a line of its own or send escapes.
const text = (value: string | null, fallback = "-") => (value !== null && value !== "" ? printable(value) : fallback);
const time = (iso: string | null) => (iso !== null && iso.length >= 19 ? printable(iso.slice(11, 19)) : "-");

/**
 * The status document in words: the table of pools, one footer line, and anything that needs
 * attention. Read with @hb/protocol's schema: a document from an older or newer hbd, with
 * fields missing, null or of another type, still prints what it has.
 */
export function formatStatus(document: unknown): string {
  const status = readStatus(document);
  const entries = status.targets ?? [];
  const targets = entries.filter((target) => target !== null);
  const rows = [
    ["POOL", "KIND", "STATE", "ARMED", "LAST GOOD", "AGE", "P99", "FAILS", "DECISION BY"],
    ...targets.map((t) => {
      const age = t.lastGoodAgeMs;
      const p99 = t.latencyMs?.p99 ?? null;
      const fails = t.consecutiveFailures;
      return [
        text(t.id, "?"),
        text(t.kind, "?"),
        text(t.state),
        t.armed ? "yes" : "no",
        time(t.lastGoodAt),
        age === null ? "-" : `${(age / 1000).toFixed(1)} s`,
        p99 === null ? "-" : `${Math.round(p99)} ms`,
        fails === null ? "-" : String(fails),
        time(t.decisionAtTheLatest),
      ];
    }),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n");
  const { maintenance, watchdog, vetoes } = status;
  const footer = [
    `action ${text(status.action, "?")}${status.fences ? " (fences)" : " (NOT a fence)"}${status.dryRun ? ", dry run" : ""}`,
    `maintenance ${maintenance === null ? "off" : maintenance === "unreadable" ? "?" : `until ${text(maintenance.until, "?")}`}`,
    `watchdog ${text(watchdog?.mode ?? null, "?")}${watchdog?.armed === true ? " (armed)" : ""}`,
    `stuck children ${status.stuckChildren ?? "?"}`,
    `event-loop lag p99 ${status.eventLoopLagP99Ms ?? "?"} ms`,
    ...(vetoes === null ? [] : [`-c vetoed ${vetoes.vetoed ?? 0}, deferred ${vetoes.deferred ?? 0}`]),
  ].join(" · ");
  const attention: string[] = [];
  if (status.healthy === false) attention.push("hbd reports itself NOT healthy (event-loop lag or a stalled loop): the agent's -c decides on its own");
  const unreadable = entries.length - targets.length;
  if (unreadable > 0) attention.push(`${unreadable} pool entr${unreadable === 1 ? "y" : "ies"} of hbd's status unreadable (not an object): not shown`);
  for (const target of targets) {
    if (target.state !== "inconclusive") continue;
    const why = target.lastChange?.reason ?? null;
    const reason = why === null ? "" : ` (${printable(why)})`;
    attention.push(`${text(target.id, "?")} inconclusive: hb could not check it for its own reasons${reason}; not a failed try of the storage`);
  }
  const stale = status.config?.stale ?? null;
  if (stale !== null) {
    attention.push(`configuration stale since ${text(stale.since, "?")}: ${text(stale.reason, "no reason given")} (hbd keeps running on the configuration it had)`);
  }
  const endpoint = status.statusEndpoint;
  if (endpoint?.bound === false) {
    attention.push(`status endpoint ${text(endpoint.listen, "?")} NOT bound${endpoint.error === null ? "" : `: ${printable(endpoint.error)}`} (hbd runs; only root sees it, over the control socket)`);
  }
  const decisions = status.decisions.flatMap((d) => (d === null ? [] : [`decision ${text(d.at, "?")}: ${text(d.target, "?")} → ${text(d.action, "?")}, ${d.isFence === true ? "fences" : text(d.mode, "?")}`]));
  return `${table}\n${footer}\n${[...attention, ...decisions].map((line) => `${line}\n`).join("")}`;
}
