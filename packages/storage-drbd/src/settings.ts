import type { HeartbeatConfig } from "@hb/config";

/** What every reader of DRBD and LINSTOR on this host needs. */
export interface DrbdSettings {
  /** hb.drbd.drbdsetup: the program, found on PATH unless a path is given. */
  readonly drbdsetup: string;
  /** hb.drbd.node.name: this host's node name when set (else resolveNodeName asks hostname, as upstream). */
  readonly nodeName: string | null;
  /** hb.linstor.controller: the controller's URL for the peer check when no resource is shared; null when not set. */
  readonly linstorController: string | null;
  /** heartbeat.update.timeout: the deadline of each drbdsetup or LINSTOR query. */
  readonly deadlineMs: number;
}

export function drbdSettings(config: HeartbeatConfig): DrbdSettings {
  return {
    drbdsetup: config["hb.drbd.drbdsetup"],
    nodeName: config["hb.drbd.node.name"],
    linstorController: config["hb.linstor.controller"],
    deadlineMs: config["heartbeat.update.timeout"],
  };
}
