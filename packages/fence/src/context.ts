import type { Clock, Executor, FenceReport } from "@hb/core";
import type { AffectedVms } from "./affected-vms.js";
import type { ScriptRunner } from "./adapters/script.js";
import type { RebootBackstop } from "./backstops.js";
import type { FenceSettings } from "./settings.js";
import type { SysrqTrigger } from "./sysrq.js";
import type { FenceCause } from "./wording.js";

/** What a fence action needs. Every side effect goes through one of these (DESIGN rule 7). */
export interface FenceContext {
  /** Runs logger, systemctl, sync (found on PATH), each under a deadline. */
  readonly executor: Executor;
  readonly clock: Clock;
  readonly settings: FenceSettings;
  /** Who fences, as named in syslog: kvmheartbeat.sh, kvmspheartbeat.sh, hbd. */
  readonly source: string;
  /** hb's version, for the record. */
  readonly version: string;
  /** Default "heartbeat": a lost heartbeat; "operator" for `hb fence`. */
  readonly cause?: FenceCause;
  /** Default: synchronous writes to settings.sysrqTrigger. */
  readonly sysrq?: SysrqTrigger;
  /** Defaults: os.hostname(), /proc/sys/kernel/random/boot_id. */
  readonly host?: string;
  readonly bootIdFile?: string;
  /** The split-brain guard's discovery (from the target's storage package). */
  readonly affectedVms?: AffectedVms;
  /** graceful-reboot's resets armed outside hb. Default: the systemd drop-in and the watchdog. */
  readonly backstops?: readonly RebootBackstop[];
  /** Runs the custom action's script. Default: a child in its own process group, killed at the deadline. */
  readonly scriptRunner?: ScriptRunner;
  /** Besides root, the owner a custom script may have. Default: the uid hb runs as. */
  readonly uid?: number;
  /** Configuration problems to carry into the record. */
  readonly notices?: readonly string[];
  /**
   * Called once where upstream's script would exit, with its exit status (0 after `echo b`,
   * systemctl's status for graceful-reboot and restart-agent, 0 for log-only). `-c` answers the
   * agent at that point while a detached action carries on.
   */
  readonly onScriptExit?: (status: number) => void;
}

export interface FenceStep {
  readonly name: string;
  /** Milliseconds after the action started. */
  readonly startedAtMs: number;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly detail: string;
}

export interface FenceActionReport extends FenceReport {
  /** The exit status upstream's script would have returned. */
  readonly exitStatus: number;
  readonly recordId: string;
  /** fence.jsonl got the decision record, fsync'd. */
  readonly recorded: boolean;
  readonly steps: readonly FenceStep[];
}
