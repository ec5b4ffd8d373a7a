/**
 * DRBD state as read from `drbdsetup events2 --now` or `drbdsetup status --json`, normalised
 * to one shape so that one classification serves both. Field names in comments are the
 * events2 keys; optional fields are those some drbd-utils releases do not print.
 */

export type DrbdSource = "events2" | "status-json";

export interface DrbdPeerDevice {
  readonly volume: number;
  /** `replication:` (events2) / `replication-state` (JSON): Established, SyncSource, … */
  readonly replication: string;
  /** `peer-disk:` / `peer-disk-state`. */
  readonly peerDisk: string;
  /** `peer-client:`: the peer is intentionally diskless (a client or tiebreaker). */
  readonly peerClient?: boolean;
  /** `resync-suspended:` — a string: no, user, peer, dependency, or a comma list. */
  readonly resyncSuspended?: string;
  /** Resync progress in percent (`done:` / `percent-resync-done`), only during a resync. */
  readonly resyncDonePercent?: number;
  /** KiB out of sync with this peer. */
  readonly outOfSyncKiB?: number;
}

export interface DrbdConnection {
  /** The peer's node name (`conn-name:` / `name`). */
  readonly name: string;
  readonly peerNodeId?: number;
  /** `connection:` / `connection-state`: Connected, Connecting, StandAlone, … */
  readonly state: string;
  /** `role:` on a connection line / `peer-role`. */
  readonly peerRole?: string;
  /** `congested:` — only with `--statistics` in events2. */
  readonly congested?: boolean;
  readonly apInFlightKiB?: number;
  /** `sync-state:` on a StandAlone connection (SplitBrain, Unrelated). */
  readonly syncState?: string;
  /** Empty for a peer that is not connected: consumers must not assume entries. */
  readonly peerDevices: readonly DrbdPeerDevice[];
}

export interface DrbdDevice {
  readonly volume: number;
  readonly minor?: number;
  /** `disk:` / `disk-state`: UpToDate, Inconsistent, Diskless, Failed, … */
  readonly disk: string;
  /** `client:`: intentionally diskless. Unknown on the oldest drbd-utils. */
  readonly client?: boolean;
  /** `quorum:` — absent before DRBD 9 quorum support. */
  readonly quorum?: boolean;
  readonly open?: boolean;
  /** `blocked:` with `--statistics`: no, upper, lower or upper,lower. */
  readonly blocked?: string;
}

export interface DrbdResourceState {
  readonly name: string;
  /** Primary, Secondary or Unknown. */
  readonly role: string;
  readonly suspended: boolean;
  /**
   * Why I/O is suspended: user, no-data, fencing, quorum (events2 `suspended:` values, JSON
   * `suspended-*` flags). undefined when this drbd-utils reports only that it is suspended.
   */
  readonly suspendedReasons?: readonly string[];
  readonly forceIoFailures?: boolean;
  /** events2 of current drbd-utils only. */
  readonly mayPromote?: boolean;
  readonly promotionScore?: number;
  readonly devices: readonly DrbdDevice[];
  readonly connections: readonly DrbdConnection[];
}

export interface DrbdSnapshot {
  readonly source: DrbdSource;
  readonly resources: readonly DrbdResourceState[];
}

/** Replication states of a running, paused or starting resync. */
export const RESYNC_STATES: ReadonlySet<string> = new Set([
  "StartingSyncS",
  "StartingSyncT",
  "WFBitMapS",
  "WFBitMapT",
  "WFSyncUUID",
  "SyncSource",
  "SyncTarget",
  "PausedSyncS",
  "PausedSyncT",
]);

/** Booleans of events2 text: anything other than no/false is true (`suspended:quorum`). */
export function eventBool(value: string): boolean {
  return value !== "no" && value !== "false";
}
