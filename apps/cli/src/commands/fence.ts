import {
  deriveTiming,
  FENCE_ACTIONS,
  isFencingAction,
  readPropertiesFile,
  resolveConfig,
  type FenceActionName,
  type HeartbeatConfig,
  type PropertiesDocument,
} from "@hb/config";
import type { FenceDecision } from "@hb/core";
import { createFenceAction, describeLastFence, fenceSettings, parseLastFence, readFenceLogTail, type AffectedVms, type FenceActionReport } from "@hb/fence";
import { findQemuProcessesUsingMount } from "@hb/storage-nfs";
import { closeSync, writeSync } from "node:fs";
import { parseCommandArgs, positionals } from "../args.js";
import { propertiesPath, readPropertiesOrDefaults, type RunDeps } from "../context.js";
import { UsageError } from "../errors.js";

const USAGE = "hb fence [--action A] [--reason TEXT] [--dry-run] [--file F] | hb fence last [--json] [--file F]";

const HELP = `Usage:
  hb fence [--action A] [--reason TEXT] [--dry-run] [--file F]
      Run a fence action now (default: kvm.heartbeat.fence.action), with its record in
      <hb.state.dir>/fence.jsonl and its line in syslog (tag heartbeat). reboot and
      graceful-reboot reset this host unless --dry-run (or hb.fence.dry.run) is given.
      A = reboot | hard-reboot | graceful-reboot | restart-agent | log-only
  hb fence last [--json] [--file F]
      The newest fence record, in words: whether the last reboot was hb's, pool, reason; then
      the agent's -c calls that hb vetoed (hb.fence.verify) or deferred to hbd since then.

The -c entry points (hb compat kvmheartbeat … -c, hb compat kvmspheartbeat -c) run the action in a
detached \`hb fence --source NAME --target T --status-fd 3\`.
`;

// Settings whose problems are worth a notice on the fence path.
const FENCE_KEYS = /^(kvm\.heartbeat\.fence\.action|hb\.fence\.|hb\.state\.dir|hb\.watchdog\.device)/;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [first, ...rest] = argv;
  // --help anywhere before `--` (hb fence last --help); -h only first, as other groups take it.
  const end = argv.indexOf("--");
  const asksHelp = (end === -1 ? argv : argv.slice(0, end)).includes("--help") || (first === "last" && rest[0] === "-h");
  if (first === "--help" || first === "-h" || first === "help" || asksHelp) {
    deps.stdout(HELP);
    return 0;
  }
  if (first === "last") return fenceLast(rest, deps);
  return fenceNow(argv, deps);
}

/** `hard-reboot` is `reboot`; anything else unknown is a usage error here (not in agent.properties). */
export function parseActionName(value: string): FenceActionName {
  const name = value.trim() === "hard-reboot" ? "reboot" : value.trim();
  if ((FENCE_ACTIONS as readonly string[]).includes(name)) return name as FenceActionName;
  throw new UsageError(`--action takes ${FENCE_ACTIONS.join(", ")} (hard-reboot = reboot), not ${JSON.stringify(value)}`);
}

export interface ScriptConfig {
  readonly values: HeartbeatConfig;
  /** Problems on the fence path, in words: a missing file, an unknown action read as reboot. */
  readonly notices: readonly string[];
}

/**
 * The configuration of a fence run started by the agent: a missing or unreadable file means
 * CloudStack's defaults, so the host is still fenced. Never throws.
 */
export async function readScriptConfig(path: string): Promise<ScriptConfig> {
  let doc: PropertiesDocument | null = null;
  const notices: string[] = [];
  try {
    doc = await readPropertiesFile(path);
  } catch (error) {
    notices.push(`${(error as Error).message}; using CloudStack's defaults`);
  }
  const resolved = resolveConfig(doc);
  for (const problem of resolved.problems) {
    if (FENCE_KEYS.test(problem.key)) notices.push(`${path}:${problem.line}: ${problem.key}: ${problem.message}`);
  }
  return { values: resolved.values, notices };
}

async function fenceNow(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { values: options, positionals: words } = parseCommandArgs(
    argv,
    {
      action: { type: "string" },
      reason: { type: "string" },
      "dry-run": { type: "boolean" },
      file: { type: "string", short: "f" },
      // Set by the -c entry points for the detached run.
      source: { type: "string" },
      target: { type: "string" },
      "status-fd": { type: "string" },
    },
    USAGE,
  );
  positionals(words, 0, USAGE);
  const fromScript = options.source !== undefined;
  const statusFd = options["status-fd"] === undefined ? undefined : parseStatusFd(options["status-fd"]);
  const action = options.action === undefined ? undefined : parseActionName(options.action);
  const path = propertiesPath(options.file, deps);

  let config: ScriptConfig;
  if (fromScript) {
    config = await readScriptConfig(path);
  } else {
    // An operator's explicit --file must exist; the agent's own file may be absent (defaults).
    const doc = options.file === undefined ? await readPropertiesOrDefaults(path, deps) : await readPropertiesFile(path);
    const resolved = resolveConfig(doc);
    // An --action on the command line makes a bad kvm.heartbeat.fence.action irrelevant.
    const relevant = (key: string) => FENCE_KEYS.test(key) && !(action !== undefined && key === "kvm.heartbeat.fence.action");
    const notices = resolved.problems.filter((problem) => relevant(problem.key)).map((problem) => `${path}:${problem.line}: ${problem.key}: ${problem.message}`);
    for (const notice of notices) deps.stderr(`hb: ${notice}\n`);
    config = { values: resolved.values, notices };
  }

  const chosen = action ?? config.values["kvm.heartbeat.fence.action"];
  const values: HeartbeatConfig = { ...config.values, "kvm.heartbeat.fence.action": chosen };
  const dryRun = options["dry-run"] === true || values["hb.fence.dry.run"];
  const source = options.source ?? "hb fence";
  const decision: FenceDecision = {
    atMs: deps.clock.monoMs(),
    wallTime: new Date(deps.clock.wallMs()).toISOString(),
    target: options.target ?? "(none: requested by the operator)",
    reason: options.reason ?? (fromScript ? `the CloudStack agent ran ${source} -c` : "requested with hb fence"),
    action: chosen,
    isFence: !dryRun && isFencingAction(chosen),
    mode: dryRun ? "dry-run" : "act",
    dryRun,
    history: [],
    lastAttempts: [],
    timing: deriveTiming(values),
    arithmetic: fromScript
      ? `${source} -c is run by the CloudStack agent once kvm.heartbeat.update.max.tries (${values["kvm.heartbeat.update.max.tries"]}) heartbeat attempts failed`
      : "an operator's request: no heartbeat arithmetic",
  };
  const fence = createFenceAction(chosen, {
    executor: deps.executor,
    clock: deps.clock,
    settings: fenceSettings(values),
    source,
    version: deps.version,
    cause: fromScript ? "heartbeat" : "operator",
    notices: config.notices,
    ...(statusFd === undefined ? {} : { onScriptExit: (status: number) => reportStatus(statusFd, status) }),
    // The split-brain guard (hb.fence.kill.affected.vms): kvmheartbeat.sh -c names the pool's
    // mount point, so the qemu processes using it can be found; kvmspheartbeat.sh cannot know.
    ...(source === "kvmheartbeat.sh" && options.target?.startsWith("/") === true ? { affectedVms: qemuOnMount(options.target, deps, values) } : {}),
  });
  const report = await fence.execute(decision);
  if (!fromScript) deps.stdout(formatReport(report, fenceSettings(values).stateDir));
  return report.exitStatus;
}

function qemuOnMount(mountPoint: string, deps: RunDeps, values: HeartbeatConfig): AffectedVms {
  return {
    find: async (_target, signal) =>
      (await findQemuProcessesUsingMount({ executor: deps.executor, deadlineMs: values["hb.fence.step.timeout"], signal, mountPoint })).map((process) => process.pid),
  };
}

function parseStatusFd(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 3) throw new UsageError(`--status-fd takes a file descriptor of 3 or more, not ${JSON.stringify(value)}`);
  return Number(value);
}

/** Tells the waiting -c entry point the script's exit status; it may be gone already. */
function reportStatus(fd: number, status: number): void {
  try {
    writeSync(fd, `${status}\n`);
    closeSync(fd);
  } catch {
    // The agent killed the entry point: nobody is listening, the action goes on.
  }
}

function formatReport(report: FenceActionReport, stateDir: string): string {
  const lines = [`hb fence: ${report.action} (record ${report.recordId} ${report.recorded ? "in" : "NOT written to"} ${stateDir}/fence.jsonl)`];
  for (const step of report.steps) {
    lines.push(`  ${step.name.padEnd(24)} ${step.ok ? "ok  " : "FAIL"} ${String(Math.round(step.startedAtMs)).padStart(7)} ms  ${step.detail}`);
  }
  lines.push(report.outcome);
  return `${lines.join("\n")}\n`;
}

async function fenceLast(argv: readonly string[], deps: RunDeps): Promise<number> {
  const usage = "hb fence last [--json] [--file F]";
  const { values: options, positionals: words } = parseCommandArgs(argv, { json: { type: "boolean" }, file: { type: "string", short: "f" } }, usage);
  positionals(words, 0, usage);
  const path = propertiesPath(options.file, deps);
  const doc = options.file === undefined ? await readPropertiesOrDefaults(path, deps) : await readPropertiesFile(path);
  const values = resolveConfig(doc).values;
  const stateDir = values["hb.state.dir"];
  // One read of the log's end, in a child bounded by the step deadline: the state folder may
  // hang, and a FIFO, device, link or a folder others may write is refused with a named error.
  const tail = await readFenceLogTail(stateDir, { executor: deps.executor, deadlineMs: values["hb.fence.step.timeout"] });
  const last = tail === null ? null : parseLastFence(tail);
  // -c calls that were vetoed or deferred to hbd since that decision (or ever, when there is none).
  const { describeNoFences, summarizeNoFences } = await import("./verify.js");
  const vetoes = tail === null ? null : summarizeNoFences(tail.text);
  const vetoesJson = vetoes === null || vetoes.count === 0 ? {} : { vetoes };
  if (last === null) {
    if (options.json === true) deps.stdout(`${JSON.stringify({ path: `${stateDir}/fence.jsonl`, record: null, ...vetoesJson })}\n`);
    else deps.stdout(`No fence record in ${stateDir}/fence.jsonl.\n${describeNoFences(vetoes)}`);
    return 1;
  }
  if (options.json === true) {
    const { path: logPath, record, followUps, bootId, thisBoot, skippedLines } = last;
    deps.stdout(`${JSON.stringify({ path: logPath, bootId, thisBoot, skippedLines, record, followUps, ...vetoesJson }, null, 2)}\n`);
    return 0;
  }
  deps.stdout(describeLastFence(last) + describeNoFences(vetoes));
  return 0;
}
