import { HbError } from "@hb/errors";
import { describeZodIssue, parseProperties, resolveConfig, setProperty, type ConfigProblem, type FenceActionName, type HeartbeatConfig } from "@hb/config";
import * as z from "zod/mini";
import type { core } from "zod/mini";
import { HeartbeatLoop, type LoopEvent } from "./loop.js";
import type { AttemptOutcome, FenceAction, FenceDecision, HeartbeatTarget, StateChange } from "./ports.js";
import { printable } from "./printable.js";
import { SimulatedClock } from "./sim-clock.js";
import { TARGET_STATES } from "./states.js";

const phase = z.strictObject({
  fromMs: z.number().check(z.int(), z.minimum(0)),
  latencyMs: z.optional(z.number().check(z.int(), z.minimum(0))),
  hang: z.optional(z.literal(true)),
  error: z.optional(z.string().check(z.minLength(1))),
  noQuorum: z.optional(z.literal(true)),
  /** hb's own fault (e.g. "EMFILE"): an inconclusive attempt, never a failed try. */
  inconclusive: z.optional(z.string().check(z.minLength(1))),
  impairment: z.optional(z.string().check(z.minLength(1))),
}).check(
  z.refine((p) => [p.hang, p.error, p.noQuorum, p.inconclusive].filter((x) => x !== undefined).length <= 1, "at most one of hang, error, noQuorum, inconclusive"),
  z.refine(
    (p) => p.hang === true || p.latencyMs !== undefined || p.noQuorum === true || p.inconclusive !== undefined,
    "latencyMs is needed unless hang, noQuorum or inconclusive",
  ),
);

const phases = z.array(phase).check(
  z.minLength(1),
  z.refine((list) => list.every((p, i) => i === 0 || p.fromMs > (list[i - 1]?.fromMs ?? 0)), "each target's phases must have increasing fromMs"),
);

// properties and targets are read key by key below, not by z.record: a record assigns each key to
// a plain object, where a target named "__proto__" would vanish (or replace the prototype).
const scenarioShape = z.strictObject({
  durationMs: z.number().check(z.int(), z.positive()),
  properties: z.optional(z.unknown()),
  targets: z.unknown(),
});

/**
 * A timeline per target: each phase describes every attempt that starts from `fromMs` on.
 * `properties` and `targets` have no prototype, so any name is an ordinary key.
 */
export interface Scenario {
  readonly durationMs: number;
  /** agent.properties values the scenario overrides, written as in the file. */
  readonly properties: Readonly<Record<string, string>>;
  readonly targets: Readonly<Record<string, readonly ScenarioPhase[]>>;
}
export type ScenarioPhase = z.output<typeof phase>;

export class ScenarioError extends HbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SCENARIO", message, options);
  }
}

/** How far `hb simulate` goes before it stops with a SimulationLimitError. */
export interface SimulationLimits {
  /** The longest `durationMs` simulated: refused at once past it. */
  readonly maxDurationMs: number;
  /** Loop events (attempts, state changes, decisions…) recorded before the run is stopped. */
  readonly maxEvents: number;
}

/**
 * Seven simulated days, 100 000 events: far more than any timeline an operator reads, and a run
 * that stays within a few seconds and a few hundred MB (a 1 ms frequency makes an event per ms).
 */
export const SIMULATION_LIMITS: SimulationLimits = { maxDurationMs: 7 * 24 * 3600 * 1000, maxEvents: 100_000 };

/** A simulation past one of its limits (SIMULATION_LIMITS): refused, or stopped where it reached it. */
export class SimulationLimitError extends HbError {
  readonly limit: keyof SimulationLimits;
  constructor(limit: keyof SimulationLimits, message: string) {
    super("SIMULATION_LIMIT", message);
    this.limit = limit;
  }
}

type Issue = { readonly path: readonly PropertyKey[]; readonly text: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Validate a scenario read from JSON; a ScenarioError says where it is wrong. */
export function parseScenario(input: unknown): Scenario {
  const issues: Issue[] = [];
  const zodIssues = (prefix: readonly PropertyKey[], list: readonly core.$ZodIssue[]) => {
    for (const issue of list) issues.push({ path: [...prefix, ...issue.path], text: describeZodIssue(issue) });
  };
  const shape = scenarioShape.safeParse(input);
  if (!shape.success) zodIssues([], shape.error.issues);
  const raw = isRecord(input) ? input : {};

  const properties: Record<string, string> = Object.create(null) as Record<string, string>;
  if (raw.properties !== undefined && !isRecord(raw.properties)) issues.push({ path: ["properties"], text: "expected an object of key: value" });
  for (const [key, value] of Object.entries(isRecord(raw.properties) ? raw.properties : {})) {
    if (typeof value === "string") properties[key] = value;
    else issues.push({ path: ["properties", key], text: "expected a string, written as in agent.properties" });
  }

  const targets: Record<string, ScenarioPhase[]> = Object.create(null) as Record<string, ScenarioPhase[]>;
  if (raw.targets !== undefined && !isRecord(raw.targets)) issues.push({ path: ["targets"], text: "expected an object of target: phases" });
  const entries = Object.entries(isRecord(raw.targets) ? raw.targets : {});
  if (isRecord(raw.targets) && entries.length === 0) issues.push({ path: ["targets"], text: "at least one target" });
  for (const [name, list] of entries) {
    if (name === "") issues.push({ path: ["targets"], text: "a target name is empty" });
    const parsed = phases.safeParse(list);
    if (parsed.success) targets[name] = parsed.data;
    else zodIssues(["targets", name], parsed.error.issues);
  }

  if (issues.length > 0 || !shape.success) {
    throw new ScenarioError(`invalid scenario: ${issues.map((issue) => `${issue.path.map(String).join(".") || "(top)"}: ${issue.text}`).join("; ")}`);
  }
  return { durationMs: shape.data.durationMs, properties, targets };
}

export interface SimulatedDecision {
  readonly atMs: number;
  readonly target: string;
  readonly action: FenceActionName;
  readonly isFence: boolean;
  readonly reason: string;
  readonly mode: FenceDecision["mode"];
}

/** A configuration problem, and where it comes from: agent.properties (its line), or the scenario's own `properties`. */
export type SimulationProblem = ConfigProblem & { readonly source: "properties" | "scenario" };

export interface SimulationResult {
  readonly config: HeartbeatConfig;
  /** Problems of agent.properties (source "properties", with its line) and of the scenario's `properties` (source "scenario"). */
  readonly problems: readonly SimulationProblem[];
  readonly events: readonly StateChange[];
  readonly decisions: readonly SimulatedDecision[];
  readonly withheld: readonly { atMs: number; target: string; reason: string }[];
  /** Every loop event, for golden logs. */
  readonly log: readonly LoopEvent[];
}

/**
 * Run the real loop under a simulated clock. `propertiesText` is the agent.properties text
 * (or "" for defaults); the scenario's properties override it as if written in the file.
 * Past `limits` (default SIMULATION_LIMITS) it throws a SimulationLimitError: a duration at once,
 * an event count as soon as it is reached.
 */
export async function simulate(scenario: Scenario, propertiesText = "", policy: "hb" | "upstream" = "hb", limits: SimulationLimits = SIMULATION_LIMITS): Promise<SimulationResult> {
  if (scenario.durationMs > limits.maxDurationMs) {
    throw new SimulationLimitError(
      "maxDurationMs",
      `durationMs ${scenario.durationMs} is past hb simulate's limit of ${limits.maxDurationMs} ms (${formatDuration(limits.maxDurationMs)}): simulate a shorter time`,
    );
  }
  const { config, problems } = configOf(scenario, propertiesText);
  const clock = new SimulatedClock();
  const log: LoopEvent[] = [];
  const targets = Object.entries(scenario.targets).map(([id, phases]) => simulatedTarget(id, phases, clock, policy));
  const fence: FenceAction = {
    name: config["kvm.heartbeat.fence.action"],
    execute: async (decision) => ({ action: decision.action, outcome: "simulated", acted: false }),
  };
  const loop = new HeartbeatLoop({ config, clock, targets, fence, policy, onEvent: (event) => log.push(event) });
  loop.start();
  // Timers without events cannot outnumber them by much (each round logs an attempt); the bound on
  // timers is a second net, so that no scenario can spin unseen.
  let timers = 0;
  const finished = await clock.runUntil(scenario.durationMs, () => log.length > limits.maxEvents || ++timers > limits.maxEvents * 8);
  void loop.stop();
  if (!finished) {
    throw new SimulationLimitError(
      "maxEvents",
      `stopped at ${clock.monoMs() / 1000} s of the ${scenario.durationMs / 1000} s simulated: more than hb simulate's limit of ${limits.maxEvents} events (attempts, state changes, decisions); simulate a shorter time, fewer targets or a longer kvm.heartbeat.update.frequency`,
    );
  }
  const events = log.flatMap((event) => (event.type === "state" ? [event.change] : []));
  const decisions = log.flatMap((event) =>
    event.type === "decision"
      ? [{ atMs: event.decision.atMs, target: event.decision.target, action: event.decision.action, isFence: event.decision.isFence, reason: event.decision.reason, mode: event.decision.mode }]
      : [],
  );
  const withheld = log.flatMap((event) => (event.type === "withheld" ? [{ atMs: event.atMs, target: event.target, reason: event.reason }] : []));
  return { config, problems, events, decisions, withheld, log };
}

/**
 * The configuration: agent.properties with the scenario's values written over it. Problems of the
 * file keep its lines; a key the scenario sets is judged by the scenario's value, and its problem
 * is the scenario's (the file's line for it no longer counts).
 */
function configOf(scenario: Scenario, propertiesText: string): { config: HeartbeatConfig; problems: SimulationProblem[] } {
  const overridden = new Set(Object.keys(scenario.properties));
  let text = propertiesText;
  for (const [key, value] of Object.entries(scenario.properties)) {
    try {
      text = setProperty(text, key, value).text;
    } catch (error) {
      throw new ScenarioError(`invalid scenario: properties.${key}: ${(error as Error).message}`, { cause: error });
    }
  }
  const merged = resolveConfig(parseProperties(text));
  const own = overridden.size === 0 ? merged : resolveConfig(parseProperties(propertiesText));
  const problems: SimulationProblem[] = [
    ...own.problems.filter((problem) => !overridden.has(problem.key)).map((problem) => ({ ...problem, source: "properties" as const })),
    ...merged.problems.filter((problem) => overridden.has(problem.key)).map((problem) => ({ ...problem, source: "scenario" as const })),
  ];
  return { config: merged.values, problems };
}

function formatDuration(ms: number): string {
  return ms % 86_400_000 === 0 ? `${ms / 86_400_000} days` : `${ms / 1000} s`;
}

/** The phase in force at `nowMs`: the last one starting at or before it (phases are in increasing fromMs). */
function phaseAt(phases: readonly ScenarioPhase[], nowMs: number): ScenarioPhase | undefined {
  let low = 0;
  let high = phases.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((phases[middle]?.fromMs ?? 0) <= nowMs) low = middle + 1;
    else high = middle;
  }
  return phases[low - 1];
}

function simulatedTarget(id: string, phases: readonly ScenarioPhase[], clock: SimulatedClock, policy: "hb" | "upstream"): HeartbeatTarget {
  return {
    id,
    attempt: () => {
      const current = phaseAt(phases, clock.monoMs());
      // Before the first phase the storage answers at once.
      if (current === undefined) return Promise.resolve({ ok: true });
      if (current.hang) return new Promise<AttemptOutcome>(() => undefined); // blocked in the kernel: never returns
      const outcome = phaseOutcome(current, policy);
      return new Promise((resolve) => clock.setTimer(current.latencyMs ?? 0, () => resolve(outcome)));
    },
  };
}

function phaseOutcome(phase: ScenarioPhase, policy: "hb" | "upstream"): AttemptOutcome {
  if (phase.noQuorum === true) return { ok: false, reason: "no-quorum", message: "the target reports lost quorum" };
  if (phase.inconclusive !== undefined) return { ok: false, reason: "inconclusive", message: `hb could not check: ${phase.inconclusive}` };
  if (phase.error !== undefined) return { ok: false, reason: "error", message: phase.error };
  if (phase.impairment === undefined) return { ok: true };
  // Upstream's LINSTOR check knows no "impaired": a Primary that cannot be promoted
  // (promotion_score:0, as during a resync) is a failed check.
  if (policy === "upstream") return { ok: false, reason: "error", message: `${phase.impairment} (upstream: promotion_score:0)` };
  return { ok: true, impairment: phase.impairment };
}

const STATE_WIDTH = Math.max(...TARGET_STATES.map((value) => value.length));

/**
 * The operator's timeline of a simulation: one line per state change, withheld decision and
 * decision. Names and reasons come from the scenario: printed with control characters made
 * visible, so that none can start a line of its own or drive the terminal.
 */
export function formatSimulation(result: SimulationResult): string {
  const lines: { atMs: number; text: string }[] = [];
  const at = (ms: number) => `${(ms / 1000).toFixed(3).padStart(10)} s`;
  const name = (target: string) => printable(target).padEnd(12);
  const state = (value: string) => value.padEnd(STATE_WIDTH);
  for (const change of result.events) lines.push({ atMs: change.atMs, text: `${at(change.atMs)}  ${name(change.target)}  ${state(change.from ?? "start")} -> ${state(change.to)}  ${printable(change.reason)}` });
  for (const item of result.withheld) lines.push({ atMs: item.atMs, text: `${at(item.atMs)}  ${name(item.target)}  withheld: ${printable(item.reason)}` });
  for (const decision of result.decisions) {
    const kind = decision.isFence ? "fences the host" : decision.mode === "act" ? "not a fence action" : decision.mode === "dry-run" ? "dry run, nothing done" : "suppressed";
    lines.push({ atMs: decision.atMs, text: `${at(decision.atMs)}  ${name(decision.target)}  DECISION ${decision.action}, ${kind}: ${printable(decision.reason)}` });
  }
  // Stable: same-time lines keep the order above (state, withheld, decision).
  lines.sort((a, b) => a.atMs - b.atMs);
  const verdict = result.decisions.length === 0 ? "no fence decision" : `${result.decisions.length} decision(s); ${result.decisions.some((d) => d.isFence) ? "the host is fenced" : "none fences the host"}`;
  return `${lines.map((line) => line.text).join("\n")}\n${verdict}\n`;
}
