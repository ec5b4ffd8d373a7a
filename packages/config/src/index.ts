export { describeZodIssue } from "./zod-issue.js";
export { hostIdOf } from "./host-id.js";
export {
  HbError,
  ConfigFileError,
  PropertiesSyntaxError,
  PropertyEditError,
  NotRegularFileError,
  FileTooLargeError,
  LocalFileError,
  isHbError,
  isErrorCode,
  ERROR_CODES,
  type ErrorCode,
  type FileKind,
} from "./errors.js";
export { readLocalFile, readLocalFileSync, writeLocalFile, type ReadLocalFileOptions, type WriteLocalFileOptions } from "./files.js";
export { parseProperties, decodePropertiesBytes, type PropertiesDocument, type PropertyEntry } from "./properties.js";
export {
  PROPERTY_SPECS,
  PROPERTY_KEYS,
  TIMER_MAX_MS,
  FENCE_ACTIONS,
  FENCE_ACTION_ALIASES,
  parseFenceAction,
  FENCE_SCOPES,
  FENCE_VERIFY_MODES,
  WATCHDOG_MODES,
  type FenceVerifyMode,
  type WatchdogMode,
  type FenceScope,
  isFencingAction,
  isPropertyKey,
  type FenceActionName,
  type HeartbeatConfig,
  type PropertyKey,
  type PropertySpec,
} from "./schema.js";
export { resolveConfig, type ConfigProblem, type ProblemKind, type ResolvedConfig, type ValueSource } from "./resolve.js";
export { deriveTiming, neighbourThresholdMs, formatSeconds, type Invariant, type TimelineEvent, type TimingModel, type VerifyTiming } from "./timing.js";
export {
  daemonSettings,
  hostCheckSettings,
  statusSettings,
  verifySettings,
  type DaemonSettings,
  type HostCheckSettings,
  type StatusSettings,
  type VerifySettings,
} from "./settings.js";
export { setProperty, unsetProperty, escapeKey, escapeValue, type EditResult } from "./edit.js";
export { loadConfig, type ConfigFileProblem, type LoadConfigOptions, type LoadedConfig } from "./load.js";
export { readPropertiesFile, writePropertiesFile, DEFAULT_AGENT_PROPERTIES, PROPERTIES_MAX_BYTES } from "./file.js";
export { parseStatusListen, statusListenProblem, isLoopbackHost, StatusListenError, type ListenAddress } from "./listen.js";
export { parseDeclaredPools, poolIdOf, type PoolSpec, type PoolProblem } from "./pools.js";
