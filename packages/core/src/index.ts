export { TARGET_STATES, spendsBudget, type TargetState } from "./states.js";
export type {
  AttemptContext,
  AttemptOutcome,
  AttemptRecord,
  AttemptResult,
  Clock,
  DecisionMode,
  Evidence,
  ExecRequest,
  ExecResult,
  Executor,
  FenceAction,
  FenceDecision,
  FenceReport,
  HeartbeatTarget,
  StateChange,
  TimerHandle,
} from "./ports.js";
export { TargetTracker, type FoldResult, type TrackerSettings, type TryResult } from "./tracker.js";
export { HeartbeatLoop, type LoopEvent, type LoopOptions, type TargetStatus } from "./loop.js";
export { SimulatedClock } from "./sim-clock.js";
export {
  simulate,
  formatSimulation,
  parseScenario,
  ScenarioError,
  SIMULATION_LIMITS,
  SimulationLimitError,
  type Scenario,
  type ScenarioPhase,
  type SimulatedDecision,
  type SimulationLimits,
  type SimulationProblem,
  type SimulationResult,
} from "./simulate.js";
export { SystemClock } from "./adapters/system-clock.js";
export { DEFAULT_MAX_OUTPUT_BYTES, ProcessExecutor, type ProcessExecutorOptions } from "./adapters/process-executor.js";
export { FileExecutor, type FileExecutorOptions } from "./adapters/file-executor.js";
export { OWN_FAULT_CODES, isOwnFaultCode, type OwnFaultCode } from "./own-fault.js";
export { readBootId, ipv4AddressOf, BOOT_ID_FILE } from "./adapters/host.js";
export { printable } from "./printable.js";
