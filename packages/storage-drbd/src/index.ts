export type { DrbdConnection, DrbdDevice, DrbdPeerDevice, DrbdResourceState, DrbdSnapshot, DrbdSource } from "./model.js";
export { DrbdCommandError, DrbdOutputError, LinstorQueryError, NodeNameError, type DrbdCommandFailure } from "./errors.js";
export { splitEventFields, parseEvents2 } from "./events2.js";
export { parseStatusJson } from "./status-json.js";
export { parseShowJson, type DrbdConnectionOptions, type DrbdResourceOptions } from "./show-json.js";
export { classifyHost, classifyResource, worstVerdict, type HostVerdict, type ResourceVerdict, type Verdict, type VerdictEvidence } from "./verdict.js";
export {
  EVENTS2_ARGS,
  SHOW_ARGS,
  STATUS_ARGS,
  readHostHealth,
  readResourceOptions,
  readSnapshot,
  readStatus,
  resolveNodeName,
  validateNodeName,
  type DrbdsetupOptions,
  type NodeNameOptions,
} from "./drbdsetup.js";
export { checkPeer, describePeer, judgePeerFromDrbd, judgePeerFromLinstor, type PeerAnswer, type PeerCheckOptions, type PeerEvidence, type PeerVerdict } from "./peer.js";
export { parseLinstorNodes, type LinstorNode, type LinstorNodeSource } from "./linstor.js";
export { checkResourceOptions, IO_ERROR_VS_SUSPEND_IO, type DoctorFinding } from "./doctor.js";
export { DrbdHeartbeatTarget, evidenceOf, type DrbdTargetOptions } from "./target.js";
export { drbdSettings, type DrbdSettings } from "./settings.js";
export { checkDrbdVeto, judgeDrbdVeto, type DrbdVetoCheck, type DrbdVetoJudgement, type PrimaryCheck } from "./veto.js";
export { HttpLinstorNodes } from "./adapters/linstor-http.js";
