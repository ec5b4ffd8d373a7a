export {
  heartbeatFilePath,
  heartbeatFolder,
  recordFilePath,
  activityFilePath,
  upstreamPaths,
  validateHostId,
  validateMountPoint,
  InvalidHostIdError,
  InvalidMountPointError,
} from "./paths.js";
export {
  formatHeartbeat,
  parseHeartbeat,
  judgeHeartbeat,
  parseRecord,
  recordProgress,
  type HeartbeatRead,
  type HeartbeatRecord,
  type NeighbourReason,
  type NeighbourVerdict,
  type ParsedHeartbeat,
} from "./heartbeat.js";
export { readHeartbeat, readRecord, readStorageFile, type ReadOptions } from "./read.js";
export { writeHeartbeat, failedToCreate, type WriteHeartbeatOptions, type WriteResult } from "./write.js";
export { checkHeartbeatWrite, type WriteCheck, type WriteCheckOptions } from "./write-check.js";
export {
  parseMountTable,
  readMountTable,
  findNfsMount,
  isNfsType,
  ensureMounted,
  validateMountArguments,
  validateRemountPoint,
  MOUNT_TABLE_MAX_BYTES,
  UPSTREAM_MOUNT_OPTIONS,
  MountTableError,
  RemountError,
  UnsafeMountArgumentError,
  type EnsureMountedOptions,
  type MountEntry,
  type MountState,
} from "./mounts.js";
export {
  commandLineUsesMount,
  findQemuProcessesUsingMount,
  killQemuProcessesUsingMount,
  ProcessDiscoveryError,
  type FindQemuOptions,
  type QemuProcess,
  type StopQemuOptions,
  type StopQemuResult,
} from "./qemu.js";
export {
  ACTIVITY_HEARTBEAT_THRESHOLD_SECONDS,
  checkVmActivity,
  decideDiskActivity,
  judgeActivityHeartbeat,
  parseVolumeList,
  resolveVolume,
  InvalidVolumeError,
  type ActivityCheckOptions,
  type ActivityCannotJudge,
  type ActivityCheckResult,
  type ActivityNotJudged,
  type ActivityReason,
  type ActivityVerdict,
  type DiskActivityDecision,
} from "./activity.js";
export { scanHeartbeats, ScanError, type ScanOptions, type ScanResult, type ScannedHeartbeat } from "./scan.js";
export { DEFAULT_RECORD_EVERY, NfsHeartbeatTarget, type NfsTargetOptions } from "./target.js";
export { LOCAL_FILESYSTEM_TYPES, SmpHeartbeatTarget, checkSmpHeartbeatWrite, checkSmpMount, findCoveringMount, smpMountProblem, type SmpTargetOptions, type SmpWriteCheckOptions } from "./smp.js";
export { nfsReaderSettings, nfsWriterSettings, type NfsReaderSettings, type NfsSettings, type NfsWriterSettings } from "./settings.js";
export { ALIVE_LINE, cannotJudgeLine, neighbourLine, remountFailedLine, failedToCreateLine } from "./upstream.js";
export type { RecordFields, ScanSkippedEntry, StorageCallOptions, WriteStep } from "./worker.js";
export { NATIVE_WORKER_NAME, nativeWorkerBuildPath } from "./native-worker.js";
