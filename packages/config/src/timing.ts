import { isFencingAction, type FenceActionName, type FenceVerifyMode, type HeartbeatConfig } from "./schema.js";

/** One moment of the timeline, measured from the last good heartbeat (t = 0). */
export interface TimelineEvent {
  readonly id: string;
  /** Milliseconds after the last good heartbeat; null when it never happens. */
  readonly atMs: number | null;
  readonly text: string;
}

export interface Invariant {
  readonly id: string;
  readonly holds: boolean;
  readonly message: string;
}

/**
 * Every deadline hb derives from the configuration, in one place. Times are from the end of
 * the last successful heartbeat write (t = 0), in milliseconds.
 */
export interface TimingModel {
  readonly fenceAction: HeartbeatConfig["kvm.heartbeat.fence.action"];
  /** Whether a decision takes the host down (fencing action and the reboot flag on). */
  readonly fences: boolean;
  /** Deadline of each attempt. */
  readonly attemptDeadlineMs: number;
  /** kvm.heartbeat.update.max.tries: failed tries that make a decision. */
  readonly maxTries: number;
  /** kvm.heartbeat.update.retry.sleep: the pause between two tries. */
  readonly retrySleepMs: number;
  /** Longest gap between two successful writes of a healthy host: a pause plus a slow write. */
  readonly healthyMaxGapMs: number;
  /**
   * The age over which a neighbour's check calls the file DEAD: the agent's -t (frequency in whole
   * seconds), or hb.heartbeat.max.age when longer. Readers take it from here, never recompute it.
   */
  readonly neighbourThresholdMs: number;
  /** When a neighbour's check may first call the file DEAD: ages are whole seconds, so one second past the threshold. */
  readonly neighbourDeadAfterMs: number;
  /** Decision when every attempt fails at once (errors). */
  readonly decisionEarliestMs: number;
  /** Decision when every attempt runs into its deadline. */
  readonly decisionLatestMs: number;
  /** The host is reset at the latest; null when the action does not fence. */
  readonly resetLatestMs: number | null;
  /** Upstream's agent for the same values: sleeps after the last try too, then sleep 5 in the script. */
  readonly upstreamDecisionLatestMs: number;
  readonly upstreamResetLatestMs: number;
  /** Earliest time the management server may restart this host's VMs elsewhere (host HA). */
  readonly earliestRecoveryElsewhereMs: number;
  /** What the -c entry points check before they act, within the agent's heartbeat.update.timeout. */
  readonly verify: VerifyTiming;
  readonly timeline: readonly TimelineEvent[];
  readonly invariants: readonly Invariant[];
}

/**
 * The budget of a `-c` call. The agent kills the script at heartbeat.update.timeout; the action
 * runs detached and carries on, but it must have started by then, or the host is not fenced.
 */
export interface VerifyTiming {
  readonly mode: FenceVerifyMode;
  /** Deadline of the whole verification (asking hbd, DRBD or the NFS write), from -c's start. */
  readonly deadlineMs: number;
  /** The longest verification that fits: heartbeat.update.timeout − actionAnswerMs − startMarginMs. */
  readonly fitsMs: number;
  /** hb.fence.verify.timeout as set (null: derived, deadlineMs = fitsMs). */
  readonly configuredMs: number | null;
  /** What the action does, at the latest, before it answers the agent with its exit status. */
  readonly actionAnswerMs: number;
  /** Start-up of -c itself and of the detached action. */
  readonly startMarginMs: number;
  /** How long -c waits for hbd's answer (part of deadlineMs). */
  readonly daemonQueryMs: number;
  /** When the agent kills -c: heartbeat.update.timeout. */
  readonly agentKillsAtMs: number;
}

const UPSTREAM_FENCE_SLEEP_MS = 5_000;
// Node's start of -c and of the detached action, with room to spare on a loaded host.
const VERIFY_START_MARGIN_MS = 1_000;

/**
 * Bounded steps before an action answers the agent (each at most hb.fence.step.timeout): the
 * record and the syslog line, then reboot: sysrq s and the flush wait before b; graceful-reboot:
 * two steps per outside reset and the systemctl request; restart-agent: the request; the
 * split-brain guard (discovery, SIGTERM, SIGKILL) before restart-agent, log-only and a custom
 * script that does not fence; custom: its script's deadline, then at worst the fallback's line
 * and record and the reboot path.
 */
function actionAnswerMs(action: FenceActionName, config: HeartbeatConfig): number {
  const step = config["hb.fence.step.timeout"];
  const guard = config["hb.fence.kill.affected.vms"] ? 3 * step : 0;
  switch (action) {
    case "hard-reboot":
      return 3 * step + config["hb.fence.flush.wait"];
    case "graceful-reboot":
      return 7 * step;
    case "restart-agent":
      return 3 * step + guard;
    case "log-only":
      return 2 * step + guard;
    case "custom":
      return customActionMs(config) + (config["hb.fence.custom.fences"] ? 0 : guard);
  }
}

/** custom, at the latest: record and lines (3 steps), the script to its deadline, the fallback's line and record, the flush wait before b. */
function customActionMs(config: HeartbeatConfig): number {
  return 5 * config["hb.fence.step.timeout"] + config["hb.fence.custom.deadline"] + config["hb.fence.flush.wait"];
}

function deriveVerify(config: HeartbeatConfig): VerifyTiming {
  const timeout = config["heartbeat.update.timeout"];
  const answer = actionAnswerMs(config["kvm.heartbeat.fence.action"], config);
  const fitsMs = Math.max(0, timeout - answer - VERIFY_START_MARGIN_MS);
  const configuredMs = config["hb.fence.verify.timeout"];
  // A longer setting would let the agent kill -c before the action starts: the host would not be fenced.
  const deadlineMs = configuredMs === null ? fitsMs : Math.min(configuredMs, fitsMs);
  return {
    mode: config["hb.fence.verify"],
    deadlineMs,
    fitsMs,
    configuredMs,
    actionAnswerMs: answer,
    startMarginMs: VERIFY_START_MARGIN_MS,
    daemonQueryMs: Math.min(config["hb.fence.step.timeout"], deadlineMs),
    agentKillsAtMs: timeout,
  };
}

/**
 * The age over which a neighbour's check calls a heartbeat DEAD: the agent's -t (whole seconds),
 * or hb.heartbeat.max.age when that is longer. `agentThresholdMs` is the -t the agent passed; the
 * timing model's `neighbourThresholdMs` is this for the configured frequency.
 */
export function neighbourThresholdMs(agentThresholdMs: number, maxAgeMs: number | null): number {
  return Math.max(agentThresholdMs, maxAgeMs ?? 0);
}

/** The -t the agent passes its neighbour check: kvm.heartbeat.update.frequency in whole seconds. */
function agentThresholdMs(frequencyMs: number): number {
  return Math.floor(frequencyMs / 1000) * 1000;
}

/** The numbers of the model, before they are told as a timeline and checked as invariants. */
type Times = Pick<
  TimingModel,
  | "fences"
  | "healthyMaxGapMs"
  | "neighbourThresholdMs"
  | "neighbourDeadAfterMs"
  | "decisionEarliestMs"
  | "decisionLatestMs"
  | "resetLatestMs"
  | "upstreamDecisionLatestMs"
  | "upstreamResetLatestMs"
  | "earliestRecoveryElsewhereMs"
> & { readonly failedChecksNeeded: number };

/** Whether a decision takes the host down: a fencing action, and the reboot flag on. */
function decisionFences(config: HeartbeatConfig): boolean {
  return config["reboot.host.and.alert.management.on.heartbeat.timeout"] && isFencingAction(config["kvm.heartbeat.fence.action"], config["hb.fence.custom.fences"]);
}

/** How long the action takes once decided: each step around it (audit record, syslog line, systemctl request) may take up to its own deadline. */
function actionTimeMs(config: HeartbeatConfig): number {
  const step = config["hb.fence.step.timeout"];
  const flushWait = config["hb.fence.flush.wait"];
  switch (config["kvm.heartbeat.fence.action"]) {
    case "graceful-reboot":
      return config["hb.fence.graceful.deadline"] + 2 * step + flushWait;
    case "custom":
      return customActionMs(config);
    default:
      return 3 * step + flushWait;
  }
}

/** hb decides as soon as the last try fails: no sleep after it (upstream sleeps once more). */
function decisionTimes(config: HeartbeatConfig): Pick<Times, "decisionEarliestMs" | "decisionLatestMs"> {
  const frequency = config["kvm.heartbeat.update.frequency"];
  const tries = config["kvm.heartbeat.update.max.tries"];
  const retrySleep = config["kvm.heartbeat.update.retry.sleep"];
  return {
    decisionEarliestMs: frequency + (tries - 1) * retrySleep,
    decisionLatestMs: frequency + tries * config["heartbeat.update.timeout"] + (tries - 1) * retrySleep,
  };
}

/** Upstream's agent for the same values: it sleeps after the last try too, then `sleep 5` in the script. */
function upstreamTimes(config: HeartbeatConfig): Pick<Times, "upstreamDecisionLatestMs" | "upstreamResetLatestMs"> {
  const tries = config["kvm.heartbeat.update.max.tries"];
  const upstreamDecisionLatestMs = config["kvm.heartbeat.update.frequency"] + tries * (config["heartbeat.update.timeout"] + config["kvm.heartbeat.update.retry.sleep"]);
  return { upstreamDecisionLatestMs, upstreamResetLatestMs: upstreamDecisionLatestMs + UPSTREAM_FENCE_SLEEP_MS };
}

/** When the management server may restart this host's VMs elsewhere: a neighbour's DEAD, then enough failed activity checks. */
function recoveryElsewhere(config: HeartbeatConfig, neighbourDeadAfterMs: number): Pick<Times, "failedChecksNeeded" | "earliestRecoveryElsewhereMs"> {
  const failedChecksNeeded = Math.ceil(config["hb.kvm.ha.activity.check.failure.ratio"] * config["hb.kvm.ha.activity.check.max.attempts"]);
  return { failedChecksNeeded, earliestRecoveryElsewhereMs: neighbourDeadAfterMs + failedChecksNeeded * config["hb.kvm.ha.activity.check.interval"] * 1000 };
}

function deriveTimes(config: HeartbeatConfig): Times {
  const fences = decisionFences(config);
  const threshold = neighbourThresholdMs(agentThresholdMs(config["kvm.heartbeat.update.frequency"]), config["hb.heartbeat.max.age"]);
  // The reader compares whole seconds: DEAD when age > threshold, so one second later.
  const neighbourDeadAfterMs = threshold + 1000;
  const decision = decisionTimes(config);
  return {
    fences,
    healthyMaxGapMs: config["kvm.heartbeat.update.frequency"] + config["heartbeat.update.timeout"],
    neighbourThresholdMs: threshold,
    neighbourDeadAfterMs,
    ...decision,
    resetLatestMs: fences ? decision.decisionLatestMs + actionTimeMs(config) : null,
    ...upstreamTimes(config),
    ...recoveryElsewhere(config, neighbourDeadAfterMs),
  };
}

function actionText(config: HeartbeatConfig): string {
  const s = formatSeconds;
  const flushWait = config["hb.fence.flush.wait"];
  switch (config["kvm.heartbeat.fence.action"]) {
    case "graceful-reboot":
      return `graceful-reboot: systemctl reboot, falling back to sysrq b after ${s(config["hb.fence.graceful.deadline"])} and a ${s(flushWait)} flush wait; steps bounded at ${s(config["hb.fence.step.timeout"])}`;
    case "custom":
      return `custom: ${config["kvm.heartbeat.fence.custom.script"]} within ${s(config["hb.fence.custom.deadline"])} (hb.fence.custom.fences says it resets the host), else the hard-reboot path: ${s(flushWait)} flush wait, then sysrq b; steps bounded at ${s(config["hb.fence.step.timeout"])}`;
    default:
      return `hard-reboot: record and syslog line (each bounded at ${s(config["hb.fence.step.timeout"])}), ${s(flushWait)} flush wait, then sysrq b`;
  }
}

function noResetText(config: HeartbeatConfig): string {
  const action = config["kvm.heartbeat.fence.action"];
  return action === "custom"
    ? `custom does not fence (hb.fence.custom.fences=false): ${config["kvm.heartbeat.fence.custom.script"]} runs for at most ${formatSeconds(config["hb.fence.custom.deadline"])}; only when it cannot run, fails or overruns does hb reset the host`
    : `${action} does not fence`;
}

function timelineOf(config: HeartbeatConfig, times: Times): TimelineEvent[] {
  const s = formatSeconds;
  const frequency = config["kvm.heartbeat.update.frequency"];
  const tries = config["kvm.heartbeat.update.max.tries"];
  const retrySleep = config["kvm.heartbeat.update.retry.sleep"];
  const rebootOn = config["reboot.host.and.alert.management.on.heartbeat.timeout"];
  return [
    { id: "last-good", atMs: 0, text: "last good heartbeat written" },
    { id: "next-round", atMs: frequency, text: `next round starts (kvm.heartbeat.update.frequency ${s(frequency)})` },
    { id: "neighbour-dead", atMs: times.neighbourDeadAfterMs, text: `a neighbour's check may call this host DEAD (age > ${s(times.neighbourThresholdMs)})` },
    { id: "decision-earliest", atMs: times.decisionEarliestMs, text: `earliest fence decision: ${tries} tries failing at once, ${tries - 1} pauses of ${s(retrySleep)}` },
    { id: "decision-latest", atMs: times.decisionLatestMs, text: `latest fence decision: ${tries} tries each cut at ${s(config["heartbeat.update.timeout"])}, ${tries - 1} pauses of ${s(retrySleep)}` },
    {
      id: "reset-latest",
      atMs: times.resetLatestMs,
      text: times.fences ? `host reset at the latest (${actionText(config)})` : `no reset: ${rebootOn ? noResetText(config) : "reboot.host.and.alert.management.on.heartbeat.timeout is false"}`,
    },
    {
      id: "recovery-elsewhere",
      atMs: times.earliestRecoveryElsewhereMs,
      text: `earliest restart of this host's VMs elsewhere (host HA: ${times.failedChecksNeeded} failed activity checks ${s(config["hb.kvm.ha.activity.check.interval"] * 1000)} apart)`,
    },
  ];
}

function invariantsOf(config: HeartbeatConfig, times: Times, verify: VerifyTiming): Invariant[] {
  const s = formatSeconds;
  const timeout = config["heartbeat.update.timeout"];
  const action = config["kvm.heartbeat.fence.action"];
  const rebootOn = config["reboot.host.and.alert.management.on.heartbeat.timeout"];
  return [
    {
      id: "neighbour-threshold-covers-writer",
      // Ages are whole seconds (date +%s): one more second of slack.
      holds: times.neighbourThresholdMs >= times.healthyMaxGapMs + 1000,
      message: `a neighbour calls DEAD at an age over ${s(times.neighbourThresholdMs)}, but a healthy writer may leave ${s(times.healthyMaxGapMs)} between writes (pause ${s(config["kvm.heartbeat.update.frequency"])} + write up to ${s(timeout)}) plus a second of rounding: healthy hosts can be reported dead (raise hb.heartbeat.max.age)`,
    },
    {
      id: "fence-before-recovery",
      holds: !times.fences || (times.resetLatestMs ?? 0) < times.earliestRecoveryElsewhereMs,
      message: `the host may still run its VMs at ${s(times.resetLatestMs ?? 0)} while the management server may restart them elsewhere from ${s(times.earliestRecoveryElsewhereMs)}: two writers on one disk`,
    },
    {
      id: "fence-protects-disks",
      holds: times.fences,
      message: rebootOn
        ? `fence action ${action} does not fence${action === "custom" ? " (hb.fence.custom.fences=false: set it to true only if the script takes the host down)" : ""}: VMs keep running while CloudStack may declare the host dead and start them elsewhere (two writers on one disk)`
        : "reboot.host.and.alert.management.on.heartbeat.timeout is false: a dead heartbeat fences nothing, while CloudStack may start the VMs elsewhere",
    },
    {
      id: "verify-fits-agent-timeout",
      holds: verify.mode === "none" || (verify.fitsMs > 0 && (verify.configuredMs === null || verify.configuredMs <= verify.fitsMs)),
      message:
        verify.fitsMs === 0
          ? `heartbeat.update.timeout (${s(timeout)}) leaves no time for -c to verify: the ${action} action needs up to ${s(verify.actionAnswerMs)} to answer the agent, plus ${s(verify.startMarginMs)} to start; -c acts without verifying`
          : `hb.fence.verify.timeout (${s(verify.configuredMs ?? 0)}) does not fit inside heartbeat.update.timeout (${s(timeout)}) with the action's ${s(verify.actionAnswerMs)} and ${s(verify.startMarginMs)} to start: -c verifies for at most ${s(verify.fitsMs)}, so that the action starts before the agent kills it`,
    },
    {
      id: "fence-verify-storage",
      holds: verify.mode !== "storage",
      message:
        "hb.fence.verify=storage: on NFS, -c does not fence when one more heartbeat write succeeds. This trades split-brain protection for uptime: " +
        "a host whose writes fail intermittently keeps its VMs while neighbours may already call it dead and start them elsewhere (CloudStack reverted such a change in 2018, PR #2984)",
    },
  ];
}

/** The timing model: a pure function of the effective configuration, in named steps. */
export function deriveTiming(config: HeartbeatConfig): TimingModel {
  const times = deriveTimes(config);
  const verify = deriveVerify(config);
  return {
    fenceAction: config["kvm.heartbeat.fence.action"],
    fences: times.fences,
    attemptDeadlineMs: config["heartbeat.update.timeout"],
    maxTries: config["kvm.heartbeat.update.max.tries"],
    retrySleepMs: config["kvm.heartbeat.update.retry.sleep"],
    healthyMaxGapMs: times.healthyMaxGapMs,
    neighbourThresholdMs: times.neighbourThresholdMs,
    neighbourDeadAfterMs: times.neighbourDeadAfterMs,
    decisionEarliestMs: times.decisionEarliestMs,
    decisionLatestMs: times.decisionLatestMs,
    resetLatestMs: times.resetLatestMs,
    upstreamDecisionLatestMs: times.upstreamDecisionLatestMs,
    upstreamResetLatestMs: times.upstreamResetLatestMs,
    earliestRecoveryElsewhereMs: times.earliestRecoveryElsewhereMs,
    verify,
    timeline: timelineOf(config, times),
    invariants: invariantsOf(config, times, verify),
  };
}

/** Milliseconds as seconds for people: 60000 → "60 s", 1500 → "1.5 s". */
export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(3))} s`;
}
