import { describeLastFence, describeNoFences, fenceSettings, parseLastFence, readFenceLogTail, summarizeNoFences, type FenceActionReport } from "@hb/fence";
import { parseCommandArgs, positionals } from "../args.js";
import { loadCommandConfig, type RunDeps } from "../context.js";
import { fenceNow, parseActionName, parseStatusFd } from "../lib/fence-now.js";

const USAGE = "hb fence [--action A] [--reason TEXT] [--dry-run] [--file F] | hb fence last [--json] [--file F]";

const HELP = `Usage:
  hb fence [--action A] [--reason TEXT] [--dry-run] [--file F]
      Run a fence action now (default: kvm.heartbeat.fence.action), with its record in
      <hb.state.dir>/fence.jsonl and its line in syslog (tag heartbeat). hard-reboot and
      graceful-reboot reset this host unless --dry-run (or hb.fence.dry.run) is given;
      custom runs kvm.heartbeat.fence.custom.script, falling back to hard-reboot.
      A = hard-reboot (alias reboot) | graceful-reboot | restart-agent | log-only | custom
  hb fence last [--json] [--file F]
      The newest fence record, in words: whether the last reboot was hb's, pool, reason; then
      the agent's -c calls that hb vetoed (hb.fence.verify) or deferred to hbd since then.

The -c entry points (hb compat kvmheartbeat … -c, hb compat kvmspheartbeat -c) run the action in a
detached \`hb fence --source NAME --target T --status-fd 3\`.
`;

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
  return fenceNowCommand(argv, deps);
}

async function fenceNowCommand(argv: readonly string[], deps: RunDeps): Promise<number> {
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
  const { report, stateDir } = await fenceNow(
    {
      action: options.action === undefined ? undefined : parseActionName(options.action),
      reason: options.reason,
      dryRun: options["dry-run"],
      file: options.file,
      source: options.source,
      target: options.target,
      statusFd: options["status-fd"] === undefined ? undefined : parseStatusFd(options["status-fd"]),
    },
    deps,
  );
  if (options.source === undefined) deps.stdout(formatReport(report, stateDir));
  return report.exitStatus;
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
  const { values } = await loadCommandConfig(options.file, deps);
  const { stateDir, stepTimeoutMs } = fenceSettings(values);
  // One read of the log's end, in a child bounded by the step deadline: the state folder may
  // hang, and a FIFO, device, link or a folder others may write is refused with a named error.
  const tail = await readFenceLogTail(stateDir, { executor: deps.executor, deadlineMs: stepTimeoutMs });
  const last = tail === null ? null : parseLastFence(tail);
  // -c calls that were vetoed or deferred to hbd since that decision (or ever, when there is none).
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
