import { deriveTiming, formatSeconds } from "@hb/config";
import { describeFenceAction, fenceSettings, hostGracefulRebootGuarantee, type FenceSettings } from "@hb/fence";
import { parseCommandArgs, positionals } from "../args.js";
import { loadOrDefaults, propertiesPath, type RunDeps } from "../context.js";
import { UsageError } from "../errors.js";

const USAGE = "hb timing explain [--file F] [--json]";

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb !== "explain") throw new UsageError(`usage: ${USAGE}`);
  const { values, positionals: words } = parseCommandArgs(rest, { file: { type: "string", short: "f" }, json: { type: "boolean" } }, USAGE);
  positionals(words, 0, USAGE);
  return timingExplain(values.file, values.json ?? false, deps);
}

function customText(settings: FenceSettings): string {
  const fences = settings.customFences
    ? "hb counts it as a fence (hb.fence.custom.fences=true): make sure it takes the host down"
    : "WARNING hb does not count it as a fence (hb.fence.custom.fences=false): the VMs may keep running while CloudStack starts them elsewhere";
  return `custom runs ${settings.customScript} for at most ${formatSeconds(settings.customDeadlineMs)} (then its process group is killed); when it cannot run, fails or overruns, hb resets the host through sysrq b. ${fences}.`;
}

export async function timingExplain(file: string | undefined, json: boolean, deps: RunDeps): Promise<number> {
  const path = propertiesPath(file, deps);
  const resolved = await loadOrDefaults(path, deps);
  const model = deriveTiming(resolved.values);
  // Whether graceful-reboot still ends in a reset when the shutdown stalls after hb is gone.
  const graceful =
    model.fenceAction === "graceful-reboot" ? hostGracefulRebootGuarantee({ watchdogDevice: fenceSettings(resolved.values).watchdogDevice }) : undefined;
  if (json) {
    const gracefulReboot = graceful === undefined ? {} : { gracefulReboot: { guaranteed: graceful.guaranteed, summary: graceful.summary } };
    deps.stdout(`${JSON.stringify({ file: path, values: resolved.values, problems: resolved.problems, ...model, ...gracefulReboot }, null, 2)}\n`);
    return 0;
  }
  const settings = fenceSettings(resolved.values);
  const action = describeFenceAction(model.fenceAction, settings.customFences);
  const events = model.timeline.filter((event) => event.atMs !== null).sort((a, b) => (a.atMs ?? 0) - (b.atMs ?? 0));
  const never = model.timeline.filter((event) => event.atMs === null);
  const out = [
    `Timing of ${path}`,
    `Fence action: ${action.action} — ${action.summary}`,
    "",
    "From the last good heartbeat (t = 0):",
    ...events.map((event) => `  t = ${formatSeconds(event.atMs ?? 0).padStart(9)}  ${event.text}`),
    ...never.map((event) => `  ${"never".padStart(13)}  ${event.text}`),
    "",
    `hb decides as soon as the last try fails. Upstream's agent sleeps ${formatSeconds(model.retrySleepMs)} once more and its script waits 5 s:`,
    `  upstream decision at ${formatSeconds(model.upstreamDecisionLatestMs)}, reset at ${formatSeconds(model.upstreamResetLatestMs)}.`,
    "An attempt cut at its deadline stays failed even if the write completes later (upstream's semantics).",
    ...(graceful === undefined ? [] : [`${graceful.guaranteed ? "" : "WARNING "}${graceful.summary}`]),
    ...(model.fenceAction === "custom" ? [customText(settings)] : []),
    model.verify.mode === "none"
      ? "-c does not verify (hb.fence.verify=none): it acts as told, except that it defers to hbd where hbd owns the decision."
      : `-c verifies (hb.fence.verify=${model.verify.mode}) for at most ${formatSeconds(model.verify.deadlineMs)} before the action starts: the agent kills -c at ${formatSeconds(model.verify.agentKillsAtMs)}, the action needs up to ${formatSeconds(model.verify.actionAnswerMs)} to answer it.`,
    "",
  ];
  const broken = model.invariants.filter((invariant) => !invariant.holds);
  out.push(broken.length === 0 ? "All timing invariants hold." : `${broken.length} timing invariant(s) broken:`);
  for (const invariant of broken) out.push(`  WARNING ${invariant.id}: ${invariant.message}`);
  for (const problem of resolved.problems) out.push(`  config ${path}:${problem.line}: ${problem.key}: ${problem.message}`);
  deps.stdout(`${out.join("\n")}\n`);
  return 0;
}
