import { HbError, describeZodIssue, parseProperties, resolveConfig, setProperty, type ConfigProblem, type FenceActionName, type HeartbeatConfig } from "@hb/config";
import * as z from "zod/mini";
import { HeartbeatLoop, type LoopEvent } from "./loop.js";
import type { AttemptOutcome, FenceAction, FenceDecision, HeartbeatTarget, StateChange } from "./ports.js";
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

/** A timeline per target: each phase describes every attempt that starts from `fromMs` on. */
export const Scenario = z.strictObject({
  durationMs: z.number().check(z.int(), z.positive()),
  properties: z._default(z.record(z.string(), z.string()), {}),
  targets: z.record(z.string().check(z.minLength(1)), z.array(phase).check(z.minLength(1))).check(
    z.refine((targets) => Object.keys(targets).length > 0, "at least one target"),
    z.refine(
      (targets) => Object.values(targets).every((phases) => phases.every((p, i) => i === 0 || p.fromMs > (phases[i - 1]?.fromMs ?? 0))),
      "each target's phases must have increasing fromMs",
    ),
  ),
});
export type Scenario = z.output<typeof Scenario>;
export type ScenarioPhase = z.output<typeof phase>;

export class ScenarioError extends HbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("SCENARIO", message, options);
  }
}

/** Validate a scenario read from JSON; a ScenarioError says where it is wrong. */
export function parseScenario(input: unknown): Scenario {
  const parsed = Scenario.safeParse(input);
  if (!parsed.success) {
    throw new ScenarioError(`invalid scenario: ${parsed.error.issues.map((issue) => `${issue.path.join(".") || "(top)"}: ${describeZodIssue(issue)}`).join("; ")}`);
  }
  return parsed.data;
}

export interface SimulatedDecision {
  readonly atMs: number;
  readonly target: string;
  readonly action: FenceActionName;
  readonly isFence: boolean;
  readonly reason: string;
  readonly mode: FenceDecision["mode"];
}

export interface SimulationResult {
  readonly config: HeartbeatConfig;
  readonly problems: readonly ConfigProblem[];
  readonly events: readonly StateChange[];
  readonly decisions: readonly SimulatedDecision[];
  readonly withheld: readonly { atMs: number; target: string; reason: string }[];
  /** Every loop event, for golden logs. */
  readonly log: readonly LoopEvent[];
}

/**
 * Run the real loop under a simulated clock. `propertiesText` is the agent.properties text
 * (or "" for defaults); the scenario's properties override it as if written in the file.
 */
export async function simulate(scenario: Scenario, propertiesText = "", policy: "hb" | "upstream" = "hb"): Promise<SimulationResult> {
  let text = propertiesText;
  for (const [key, value] of Object.entries(scenario.properties)) text = setProperty(text, key, value).text;
  const { values: config, problems } = resolveConfig(parseProperties(text));
  const clock = new SimulatedClock();
  const log: LoopEvent[] = [];
  const targets = Object.entries(scenario.targets).map(([id, phases]) => simulatedTarget(id, phases, clock, policy));
  const fence: FenceAction = {
    name: config["kvm.heartbeat.fence.action"],
    execute: async (decision) => ({ action: decision.action, outcome: "simulated", acted: false }),
  };
  const loop = new HeartbeatLoop({ config, clock, targets, fence, policy, onEvent: (event) => log.push(event) });
  loop.start();
  await clock.runUntil(scenario.durationMs);
  void loop.stop();
  const events = log.flatMap((event) => (event.type === "state" ? [event.change] : []));
  const decisions = log.flatMap((event) =>
    event.type === "decision"
      ? [{ atMs: event.decision.atMs, target: event.decision.target, action: event.decision.action, isFence: event.decision.isFence, reason: event.decision.reason, mode: event.decision.mode }]
      : [],
  );
  const withheld = log.flatMap((event) => (event.type === "withheld" ? [{ atMs: event.atMs, target: event.target, reason: event.reason }] : []));
  return { config, problems, events, decisions, withheld, log };
}

function simulatedTarget(id: string, phases: readonly ScenarioPhase[], clock: SimulatedClock, policy: "hb" | "upstream"): HeartbeatTarget {
  return {
    id,
    attempt: () => {
      const now = clock.monoMs();
      const current = phases.filter((p) => p.fromMs <= now).at(-1);
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

/** The operator's timeline of a simulation: one line per state change, withheld decision and decision. */
export function formatSimulation(result: SimulationResult): string {
  const lines: { atMs: number; text: string }[] = [];
  const at = (ms: number) => `${(ms / 1000).toFixed(3).padStart(10)} s`;
  const name = (target: string) => target.padEnd(12);
  const state = (value: string) => value.padEnd(STATE_WIDTH);
  for (const change of result.events) lines.push({ atMs: change.atMs, text: `${at(change.atMs)}  ${name(change.target)}  ${state(change.from ?? "start")} -> ${state(change.to)}  ${change.reason}` });
  for (const item of result.withheld) lines.push({ atMs: item.atMs, text: `${at(item.atMs)}  ${name(item.target)}  withheld: ${item.reason}` });
  for (const decision of result.decisions) {
    const kind = decision.isFence ? "fences the host" : decision.mode === "act" ? "not a fence action" : decision.mode === "dry-run" ? "dry run, nothing done" : "suppressed";
    lines.push({ atMs: decision.atMs, text: `${at(decision.atMs)}  ${name(decision.target)}  DECISION ${decision.action}, ${kind}: ${decision.reason}` });
  }
  // Stable: same-time lines keep the order above (state, withheld, decision).
  lines.sort((a, b) => a.atMs - b.atMs);
  const verdict = result.decisions.length === 0 ? "no fence decision" : `${result.decisions.length} decision(s); ${result.decisions.some((d) => d.isFence) ? "the host is fenced" : "none fences the host"}`;
  return `${lines.map((line) => line.text).join("\n")}\n${verdict}\n`;
}
