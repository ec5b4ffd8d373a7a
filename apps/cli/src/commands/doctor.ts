import { deriveTiming, formatSeconds } from "@hb/config";
import { stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { askControl, sharedConfig, type ControlFailure } from "./daemon-client.js";
import { inspectShims, type ShimsReport } from "./shims.js";
import { askDaemon, hbdOwned, healthyOf, parseDaemonStatus, readModeMarkers, type DaemonAnswer, type DaemonView, type ModeMarkers } from "./verify.js";

const USAGE = "hb doctor [--file F] [--dir DIR] [--json]";

/** Where CloudStack's agent package puts the heartbeat scripts. */
export const AGENT_SCRIPT_DIR = "/usr/share/cloudstack-common/scripts/vm/hypervisor/kvm";

const HELP = `Usage:
  ${USAGE}
      Which deployment mode this host is in, whether the agent's scripts are hb's shims running
      this hb, and whether hbd answers on its control socket (root only: run as root). Exit 0 when
      all is consistent, 1 with the problems listed.

  drop-in     the shims only: the agent's monitor drives; hb corrects and executes its -c
  hbd-owned   hbd runs the loop; the agent's monitor still calls the shims, whose -c defers to hbd
              on hbd's answer over its control socket (<hb.state.dir>/hbd.sock, root's, mode 0600);
              the TCP status endpoint (hb.status.listen) is for people and Prometheus only

DIR is the agent's script folder (default ${AGENT_SCRIPT_DIR}).
`;

/** none: neither the shims nor hbd: the agent runs upstream's scripts. */
export type DeploymentMode = "drop-in" | "hbd-owned" | "none";

export interface DoctorReport {
  readonly mode: DeploymentMode;
  readonly shims: ShimsReport | { readonly dir: string; readonly error: string };
  /** What -c relies on: hbd's answer over its control socket. */
  readonly hbd: {
    readonly answered: boolean;
    readonly view?: DaemonView;
    readonly reason?: string;
    readonly controlSocket: string;
    readonly control: { readonly ok: boolean; readonly failure?: ControlFailure; readonly reason?: string };
    readonly markers: ModeMarkers;
    /** The TCP status endpoint: information only, never a reason not to fence. */
    readonly statusEndpoint: DaemonAnswer;
  };
  readonly verify: ReturnType<typeof deriveTiming>["verify"];
  readonly problems: readonly string[];
}

// A stat, never an open: the operator's --dir is a local folder, and nothing in it is read here.
async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

/** The whole check, for the command and its tests. */
export async function diagnose(options: { readonly file: string | undefined; readonly dir: string }, deps: RunDeps): Promise<DoctorReport> {
  const config = await sharedConfig(options.file, deps);
  const timing = deriveTiming(config);
  const step = config["hb.fence.step.timeout"];
  const dir = resolve(options.dir);
  const [control, statusEndpoint, shims] = await Promise.all([
    askControl(config["hb.state.dir"], { op: "status" }, deps, step),
    askDaemon(config["hb.status.listen"], step),
    isFolder(dir).then(async (folder) =>
      folder ? inspectShims(dir).catch((error: unknown) => ({ dir, error: (error as Error).message })) : { dir, error: `${dir} is not a folder (pass --dir: the agent's script folder)` },
    ),
  ]);
  const markers = await readModeMarkers(control.pidFile, deps.clock, step);
  const view = control.ok ? parseDaemonStatus(control.result, control.socket, healthyOf(control.result)) : null;
  const controlReason = control.ok ? (view === null ? `${control.socket} answered with something that is not hbd's status` : undefined) : control.reason;
  // Shims that run another hb still put hb in the agent's path: drop-in, with a problem below.
  const shimsPresent = "scripts" in shims && shims.scripts.every((script) => script.state === "installed" || script.state === "stale");
  const owned = view !== null || statusEndpoint.answered || hbdOwned(markers);
  const mode: DeploymentMode = owned ? "hbd-owned" : shimsPresent ? "drop-in" : "none";

  const problems: string[] = [];
  if ("error" in shims) {
    problems.push(`shims: ${shims.error}`);
  } else {
    for (const script of shims.scripts) {
      switch (script.state) {
        case "installed":
          break;
        case "stale":
          problems.push(`${script.name} is hb's shim but runs another hb (${script.runs ?? "?"}): run hb shims install --dir ${dir}`);
          break;
        case "original":
          problems.push(`${script.name} is not hb's shim: the agent runs upstream's script${owned ? ", which fences on its own beside hbd (two owners of the decision)" : ""}`);
          break;
        case "missing":
          problems.push(`${script.name} is missing from ${dir}`);
          break;
      }
    }
  }
  if (!control.ok && control.failure === "untrusted") {
    problems.push(`hbd's control socket fails the ownership check (${control.reason}): the agent's -c never defers to an answer from it; it must be root's, mode 0600, in a folder only root may write`);
  }
  if (view !== null) {
    if (!view.healthy) problems.push(`hbd answers on ${control.socket} but does not report itself healthy: the shims' -c will not defer to it`);
    const result = control.ok ? control.result : undefined;
    const endpoint = isRecord(result) && isRecord(result.statusEndpoint) ? result.statusEndpoint : undefined;
    if (endpoint?.bound === false) problems.push(`hbd could not bind its status endpoint ${String(endpoint.listen ?? config["hb.status.listen"])} (${String(endpoint.error ?? "no reason given")}): hbd runs, but Prometheus and hb status without root see nothing`);
    const stale = isRecord(result) && isRecord(result.config) && isRecord(result.config.stale) ? result.config.stale : undefined;
    if (stale !== undefined) problems.push(`hbd's configuration is stale since ${String(stale.since)}: ${String(stale.reason)} (hbd keeps the configuration it had)`);
  } else if (owned && !(control.ok === false && control.failure === "untrusted")) {
    const notRoot = !control.ok && /permission denied/.test(control.reason);
    problems.push(
      notRoot
        ? `hbd is meant to run here, but only root may ask it over its control socket, which is what the agent's -c relies on: run hb doctor as root (${controlReason})`
        : `hbd is meant to run here but does not answer on its control socket (${controlReason ?? "?"}): the agent's -c decides on its own, and says so in syslog`,
    );
  }
  if (mode === "none") problems.push("neither the shims nor hbd: the agent runs upstream's scripts (install: see the README, Deployment modes)");
  for (const invariant of timing.invariants) {
    if (!invariant.holds && (invariant.id === "verify-fits-agent-timeout" || invariant.id === "fence-verify-storage")) problems.push(`${invariant.id}: ${invariant.message}`);
  }
  const hbd = {
    answered: view !== null,
    ...(view === null ? {} : { view }),
    ...(controlReason === undefined ? {} : { reason: controlReason }),
    controlSocket: join(config["hb.state.dir"], "hbd.sock"),
    control: control.ok ? { ok: true } : { ok: false, failure: control.failure, reason: control.reason },
    markers,
    statusEndpoint,
  };
  return { mode, shims, hbd, verify: timing.verify, problems };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const { hbd, shims, verify } = report;
  switch (report.mode) {
    case "hbd-owned":
      lines.push(
        hbd.view !== undefined
          ? `mode: hbd-owned — hbd ${hbd.view.version} runs the loop; the agent's -c defers to it for the ${hbd.view.targets.length} pool(s) it watches while their verdict is not dead`
          : "mode: hbd-owned — but hbd does not answer on its control socket, so the agent's -c decides on its own",
      );
      break;
    case "drop-in":
      lines.push("mode: drop-in — the agent's monitor drives; hb's shims correct and execute its -c");
      break;
    case "none":
      lines.push("mode: none — hb is not in the agent's path");
      break;
  }
  if ("error" in shims) {
    lines.push(`shims: ${shims.error}`);
  } else {
    lines.push(`shims: ${shims.inPlace ? "in place and running this hb" : "NOT (all) in place"} in ${shims.dir}`);
    const words = { installed: "hb's shim, runs this hb", stale: "hb's shim, runs another hb", original: "not hb's shim", missing: "missing" } as const;
    for (const script of shims.scripts) lines.push(`  ${script.name}: ${words[script.state]}${script.original ? ` (original kept as ${script.name}.orig)` : ""}`);
  }
  if (hbd.view !== undefined) {
    const targets = hbd.view.targets.map((target) => `${target.id} ${target.kind} ${target.state ?? "-"}`).join(", ");
    lines.push(`hbd: answers on its control socket ${hbd.view.address}, ${hbd.view.healthy ? "healthy" : "NOT HEALTHY"}${hbd.view.maintenance === null ? "" : `, maintenance until ${hbd.view.maintenance.until}`}; pools: ${targets || "none"}`);
  } else {
    lines.push(`hbd: no answer on its control socket (${hbd.reason ?? "?"})`);
  }
  const endpoint = hbd.statusEndpoint;
  lines.push(
    endpoint.answered
      ? `status endpoint: answers at ${endpoint.view.address} (read-only, for people and Prometheus: never a reason not to fence)`
      : `status endpoint: no answer (${endpoint.reason})`,
  );
  lines.push(`  files: ${hbd.controlSocket}${hbd.markers.pidFile === null ? "" : `; ${hbd.markers.pidFile.path}${hbd.markers.pidFile.pid === null ? "" : ` (pid ${hbd.markers.pidFile.pid}${hbd.markers.pidFile.alive ? "" : ", gone"})`}`}${hbd.markers.enabledUnit === null ? "" : `; enabled: ${hbd.markers.enabledUnit}`}`);
  lines.push(
    verify.mode === "none"
      ? "-c verification: none (upstream's behaviour, apart from deferring to hbd)"
      : `-c verification: hb.fence.verify=${verify.mode}, within ${formatSeconds(verify.deadlineMs)} (the agent kills -c at ${formatSeconds(verify.agentKillsAtMs)}; the action answers within ${formatSeconds(verify.actionAnswerMs)})`,
  );
  lines.push(report.problems.length === 0 ? "No problems." : `${report.problems.length} problem(s):`);
  for (const problem of report.problems) lines.push(`  - ${problem}`);
  return `${lines.join("\n")}\n`;
}

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    deps.stdout(HELP);
    return 0;
  }
  const { values, positionals: words } = parseCommandArgs(argv, { file: { type: "string", short: "f" }, dir: { type: "string" }, json: { type: "boolean" } }, USAGE);
  positionals(words, 0, USAGE);
  const report = await diagnose({ file: values.file, dir: values.dir ?? AGENT_SCRIPT_DIR }, deps);
  deps.stdout(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.problems.length === 0 ? 0 : 1;
}
