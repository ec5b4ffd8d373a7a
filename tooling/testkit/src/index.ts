export { makeTempDir, type TempDir } from "./temp-dir.js";
export {
  FAULTFS_SCRIPT,
  UPSTREAM_WRITE_SCRIPT,
  faultFsUnavailableReason,
  fuseDevice,
  mountFaultFs,
  type Fault,
  type FaultFs,
  type FaultOp,
  type MountFaultFsOptions,
  type OperationCount,
} from "./faultfs.js";
