import { deriveTiming, isFencingAction, type FenceActionName, type HeartbeatConfig, type TimingModel } from "@hb/config";

/** The settings every fence action reads, taken from the effective configuration. */
export interface FenceSettings {
  /** hb.fence.flush.wait: pause between starting the asynchronous flush and the reset. */
  readonly flushWaitMs: number;
  /** hb.fence.graceful.deadline: how long graceful-reboot may take before the reset path. */
  readonly gracefulDeadlineMs: number;
  /** hb.fence.step.timeout: deadline of each step around the action (record, syslog, systemctl). */
  readonly stepTimeoutMs: number;
  /** hb.fence.sysrq.trigger */
  readonly sysrqTrigger: string;
  /** hb.fence.agent.service: the unit restart-agent restarts. */
  readonly agentService: string;
  /** hb.fence.kill.affected.vms: the split-brain guard before a non-fencing action. */
  readonly killAffectedVms: boolean;
  /** hb.state.dir: where fence.jsonl lives (local disk, never the shared storage). */
  readonly stateDir: string;
  /** hb.watchdog.device: armed by graceful-reboot as a backstop outside hb. */
  readonly watchdogDevice: string;
  /** kvm.heartbeat.fence.custom.script: what the custom action runs. */
  readonly customScript: string;
  /** hb.fence.custom.deadline: how long the custom script may run before hb falls back to reboot. */
  readonly customDeadlineMs: number;
  /** hb.fence.custom.fences: whether the custom script takes the host down (the operator's word; default false). */
  readonly customFences: boolean;
}

export function fenceSettings(config: HeartbeatConfig): FenceSettings {
  return {
    flushWaitMs: config["hb.fence.flush.wait"],
    gracefulDeadlineMs: config["hb.fence.graceful.deadline"],
    stepTimeoutMs: config["hb.fence.step.timeout"],
    sysrqTrigger: config["hb.fence.sysrq.trigger"],
    agentService: config["hb.fence.agent.service"],
    killAffectedVms: config["hb.fence.kill.affected.vms"],
    stateDir: config["hb.state.dir"],
    watchdogDevice: config["hb.watchdog.device"],
    customScript: config["kvm.heartbeat.fence.custom.script"],
    customDeadlineMs: config["hb.fence.custom.deadline"],
    customFences: config["hb.fence.custom.fences"],
  };
}

/** The audit log of a state folder. */
export function auditLogPath(stateDir: string): string {
  return `${stateDir.replace(/\/+$/, "")}/fence.jsonl`;
}

/** A fence run started outside hbd (hb fence, a -c entry point): the action chosen and what it means. */
export interface FenceRunSettings {
  /** The caller's action (hb fence --action), else kvm.heartbeat.fence.action. */
  readonly action: FenceActionName;
  /** The caller's --dry-run, or hb.fence.dry.run. */
  readonly dryRun: boolean;
  /** Whether the run takes the host down: a fencing action (custom: hb.fence.custom.fences), not a dry run. */
  readonly isFence: boolean;
  /** The timing model for the action chosen. */
  readonly timing: TimingModel;
  /** The action's own settings. */
  readonly fence: FenceSettings;
}

export function fenceRunSettings(config: HeartbeatConfig, choice: { readonly action?: FenceActionName | undefined; readonly dryRun?: boolean | undefined } = {}): FenceRunSettings {
  const values: HeartbeatConfig = choice.action === undefined ? config : { ...config, "kvm.heartbeat.fence.action": choice.action };
  const action = values["kvm.heartbeat.fence.action"];
  const dryRun = choice.dryRun === true || values["hb.fence.dry.run"];
  const fence = fenceSettings(values);
  return { action, dryRun, isFence: !dryRun && isFencingAction(action, fence.customFences), timing: deriveTiming(values), fence };
}
