export { makeTempDir, type TempDir } from "./temp-dir.js";
export { MOUNT_TABLE } from "./mounts.js";
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
export { DRBD_FIXTURES, drbdFixture, drbdShowJson, makeFakeDrbdsetup, processExists, type FakeAnswer, type FakeCommand, type FakeDrbdsetup, type DrbdShowVariant } from "./drbd.js";
export { startController, type ControllerMode, type FakeController } from "./linstor.js";
export { fenceHost, roomyFenceHost, ROOMY_STEP_MS, type FenceBehaviour, type FenceHost } from "./fence-host.js";
export {
  fakeControlSocket,
  freePort,
  otherUidUnavailableReason,
  statusDocument,
  strangerOnStatusPort,
  type FakeControlSocket,
  type Stranger,
} from "./hbd.js";
