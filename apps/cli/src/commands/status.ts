import { printable } from "@hb/core";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { askControl, DaemonUnreachableError, fetchStatus, sharedConfig } from "./daemon-client.js";

const USAGE = "hb status [--file F] [--json]";

/**
 * hbd's status: over its control socket first (root only; it works when the TCP endpoint is not
 * bound, and no other program can answer there), else from the read-only TCP endpoint, saying so.
 */
async function readStatus(config: Awaited<ReturnType<typeof sharedConfig>>, deps: RunDeps): Promise<{ status: object; from: string }> {
  const step = config["hb.fence.step.timeout"];
  const control = await askControl(config["hb.state.dir"], { op: "status" }, deps, step);
  if (control.ok && typeof control.result === "object" && control.result !== null) return { status: control.result, from: control.socket };
  const why = control.ok ? `${control.socket} answered with something that is not hbd's status` : control.reason;
  const listen = config["hb.status.listen"];
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
  const { status } = await readStatus(config, deps);
  if (values.json) {
    deps.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  deps.stdout(formatStatus(status));
  return 0;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);
const objectOr = (value: unknown): Record<string, unknown> => (isObject(value) ? value : {});
// Text from hbd's document, printable: a pool name cannot start a line of its own or send escapes.
const text = (value: unknown, fallback = "-") => (typeof value === "string" && value !== "" ? printable(value) : fallback);
const number = (value: unknown): number | undefined => (typeof value === "number" && Number.isFinite(value) ? value : undefined);
const time = (iso: unknown) => (typeof iso === "string" && iso.length >= 19 ? printable(iso.slice(11, 19)) : "-");

/**
 * The status document in words: the table of pools, one footer line, and anything that needs
 * attention. Every field is read for what it is: a document from an older or newer hbd, with
 * fields missing, null or of another type, still prints what it has.
 */
export function formatStatus(document: unknown): string {
  const status = objectOr(document);
  const entries = Array.isArray(status.targets) ? (status.targets as unknown[]) : [];
  const targets = entries.filter(isObject);
  const rows = [
    ["POOL", "KIND", "STATE", "ARMED", "LAST GOOD", "AGE", "P99", "FAILS", "DECISION BY"],
    ...targets.map((t) => {
      const age = number(t.lastGoodAgeMs);
      const p99 = number(objectOr(t.latencyMs).p99);
      const fails = number(t.consecutiveFailures);
      return [
        text(t.id, "?"),
        text(t.kind, "?"),
        text(t.state),
        t.armed === true ? "yes" : "no",
        time(t.lastGoodAt),
        age === undefined ? "-" : `${(age / 1000).toFixed(1)} s`,
        p99 === undefined ? "-" : `${Math.round(p99)} ms`,
        fails === undefined ? "-" : String(fails),
        time(t.decisionAtTheLatest),
      ];
    }),
  ];
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  const table = rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n");
  const maintenance = status.maintenance;
  const watchdog = objectOr(status.watchdog);
  const vetoes = isObject(status.vetoes) ? status.vetoes : undefined;
  const footer = [
    `action ${text(status.action, "?")}${status.fences === true ? " (fences)" : " (NOT a fence)"}${status.dryRun === true ? ", dry run" : ""}`,
    `maintenance ${maintenance === null || maintenance === undefined ? "off" : isObject(maintenance) ? `until ${text(maintenance.until, "?")}` : "?"}`,
    `watchdog ${text(watchdog.mode, "?")}${watchdog.armed === true ? " (armed)" : ""}`,
    `stuck children ${number(status.stuckChildren) ?? "?"}`,
    `event-loop lag p99 ${number(status.eventLoopLagP99Ms) ?? "?"} ms`,
    ...(vetoes === undefined ? [] : [`-c vetoed ${number(vetoes.vetoed) ?? 0}, deferred ${number(vetoes.deferred) ?? 0}`]),
  ].join(" · ");
  const attention: string[] = [];
  if (status.healthy === false) attention.push("hbd reports itself NOT healthy (event-loop lag or a stalled loop): the agent's -c decides on its own");
  if (entries.length > targets.length) attention.push(`${entries.length - targets.length} pool entr${entries.length - targets.length === 1 ? "y" : "ies"} of hbd's status unreadable (not an object): not shown`);
  for (const target of targets) {
    if (target.state !== "inconclusive") continue;
    const why = objectOr(target.lastChange).reason;
    const reason = typeof why === "string" ? ` (${printable(why)})` : "";
    attention.push(`${text(target.id, "?")} inconclusive: hb could not check it for its own reasons${reason}; not a failed try of the storage`);
  }
  const stale = objectOr(status.config).stale;
  if (isObject(stale)) {
    attention.push(`configuration stale since ${text(stale.since, "?")}: ${text(stale.reason, "no reason given")} (hbd keeps running on the configuration it had)`);
  }
  const endpoint = objectOr(status.statusEndpoint);
  if (endpoint.bound === false) {
    attention.push(`status endpoint ${text(endpoint.listen, "?")} NOT bound${typeof endpoint.error === "string" ? `: ${printable(endpoint.error)}` : ""} (hbd runs; only root sees it, over the control socket)`);
  }
  const decisions = (Array.isArray(status.decisions) ? (status.decisions as unknown[]) : []).filter(isObject).map(
    (d) => `decision ${text(d.at, "?")}: ${text(d.target, "?")} → ${text(d.action, "?")}, ${d.isFence === true ? "fences" : text(d.mode, "?")}`,
  );
  return `${table}\n${footer}\n${[...attention, ...decisions].map((line) => `${line}\n`).join("")}`;
}
