export { describeFenceAction, type FenceActionDescription } from "./describe.js";
export { fenceSettings, fenceRunSettings, auditLogPath, type FenceSettings, type FenceRunSettings } from "./settings.js";
export type { FenceContext, FenceActionReport, FenceStep } from "./context.js";
export { createFenceAction, type ReportingFenceAction } from "./create.js";
export { RebootAction } from "./reboot.js";
export { GracefulRebootAction, defaultBackstops } from "./graceful-reboot.js";
export { RestartAgentAction, isUnitName } from "./restart-agent.js";
export { LogOnlyAction } from "./log-only.js";
export { CustomAction, CUSTOM_OUTPUT_MAX_BYTES } from "./custom.js";
export { checkCustomScript, type ScriptCheck, type ScriptRefusal } from "./custom-script.js";
export { processScriptRunner, type ScriptRunner, type ScriptRequest, type ScriptResult, type ScriptStream } from "./adapters/script.js";
export { AuditLog, type FenceRecord, type FenceFollowUp, type FenceVetoLine, type AuditLine } from "./audit.js";
export {
  readLastFence,
  readFenceLogTail,
  parseLastFence,
  describeLastFence,
  FenceLogError,
  UntrustedStateError,
  type LastFence,
  type FenceLogTail,
  type FenceRecordLine,
  type ReadFenceLogOptions,
  type ReadLastFenceOptions,
} from "./history.js";
export { fileSysrqTrigger, type SysrqTrigger, type SysrqKey } from "./sysrq.js";
export { sendSyslog, SYSLOG_TAG } from "./syslog.js";
export { upstreamRebootLine, NOT_A_FENCE, type FenceCause } from "./wording.js";
export { stopProcesses, type AffectedVms, type VmStopResult, type VmStopOutcome } from "./affected-vms.js";
export {
  systemdJobTimeoutBackstop,
  watchdogBackstop,
  closeHeldDevice,
  gracefulRebootGuarantee,
  hostGracefulRebootGuarantee,
  type HostPaths,
  JOB_TIMEOUT_DROP_IN,
  type RebootBackstop,
  type BackstopProbe,
  type BackstopResult,
  type GracefulRebootGuarantee,
} from "./backstops.js";
export { readBootId, BOOT_ID_FILE } from "@hb/core/adapters";
export { withinDeadline, type Settled } from "./deadline.js";
export {
  describeNoFences,
  readNoFences,
  recordNoFence,
  summarizeNoFences,
  type NoFence,
  type NoFenceEvidence,
  type NoFenceOutcome,
  type NoFenceRecord,
  type NoFenceSummary,
  type RecordNoFenceOptions,
} from "./vetoes.js";
