import { RESYNC_STATES, type DrbdConnection, type DrbdDevice, type DrbdPeerDevice, type DrbdResourceState, type DrbdSnapshot, type DrbdSource } from "./model.js";
import { optional } from "./optional.js";

/**
 * healthy: working as configured. degraded: working but impaired (resync, a peer down while
 * quorum holds, a local disk that is not UpToDate while an UpToDate peer serves the data,
 * congestion): never a reason to fence. lost: a Primary without quorum, with I/O suspended
 * for quorum, or with no UpToDate data reachable. Only a Primary resource can be lost.
 */
export type Verdict = "healthy" | "degraded" | "lost";

const RANK: Record<Verdict, number> = { healthy: 0, degraded: 1, lost: 2 };

export function worstVerdict(verdicts: Iterable<Verdict>): Verdict {
  let worst: Verdict = "healthy";
  for (const verdict of verdicts) if (RANK[verdict] > RANK[worst]) worst = verdict;
  return worst;
}

/** One DRBD fact behind a verdict: the field as drbdsetup prints it, its value, and what it means. */
export interface VerdictEvidence {
  readonly resource: string;
  /** events2 key: role, quorum, suspended, disk, connection, replication, peer-disk, congested, blocked, promotion_score, force-io-failures. */
  readonly field: string;
  readonly value: string;
  readonly volume?: number;
  /** The peer (connection name) the fact is about. */
  readonly peer?: string;
  /** What this fact makes of the resource. */
  readonly verdict: Verdict;
  readonly text: string;
}

export interface ResourceVerdict {
  readonly name: string;
  readonly role: string;
  readonly verdict: Verdict;
  readonly evidence: readonly VerdictEvidence[];
  readonly mayPromote?: boolean;
  readonly promotionScore?: number;
}

export interface HostVerdict {
  readonly verdict: Verdict;
  readonly source: DrbdSource;
  /** Lost because a Primary has no quorum (or froze for it), as opposed to no accessible data. */
  readonly quorumLost: boolean;
  readonly resources: readonly ResourceVerdict[];
  /** The verdict in one line of words. */
  readonly summary: string;
}

const isPrimary = (resource: DrbdResourceState) => resource.role === "Primary";
const yesNo = (value: boolean) => (value ? "yes" : "no");

function peersWithUpToDate(resource: DrbdResourceState, volume: number): string[] {
  return resource.connections
    .filter((connection) => connection.state === "Connected" && connection.peerDevices.some((peer) => peer.volume === volume && peer.peerDisk === "UpToDate"))
    .map((connection) => connection.name);
}

function describeDown(connection: DrbdConnection): string {
  const peer = connection.name;
  switch (connection.state) {
    case "Connecting":
      return `peer ${peer} is not connected (Connecting: DRBD keeps trying)`;
    case "StandAlone": {
      const why = connection.syncState === undefined ? "" : ` after ${connection.syncState}`;
      return `peer ${peer} is StandAlone${why}: DRBD will not reconnect by itself`;
    }
    default:
      return `peer ${peer} is not connected (${connection.state})`;
  }
}

// This host sends the data in these states; in the others (…T, WFSyncUUID) it receives it.
const SYNC_SOURCE_STATES: ReadonlySet<string> = new Set(["SyncSource", "PausedSyncS", "StartingSyncS", "WFBitMapS"]);

function describeResync(connection: DrbdConnection, peer: DrbdPeerDevice): string {
  const done = peer.resyncDonePercent === undefined ? "" : `, ${peer.resyncDonePercent}% done`;
  const paused = peer.replication.startsWith("Paused") ? ` (paused, resync-suspended:${peer.resyncSuspended ?? "?"})` : "";
  const source = SYNC_SOURCE_STATES.has(peer.replication);
  const role = source ? "source" : "target";
  const direction = source ? `to ${connection.name}` : `from ${connection.name}`;
  return `volume ${peer.volume}: resync ${direction}, this host is the sync ${role}${done}${paused}`;
}

function describeDisk(device: DrbdDevice): string {
  if (device.disk === "Diskless") return device.client === true ? "diskless client" : "local disk detached (Diskless)";
  return `local disk ${device.disk}`;
}

/** The verdict of one resource on this host, with every fact that led to it. */
export function classifyResource(resource: DrbdResourceState): ResourceVerdict {
  const primary = isPrimary(resource);
  // A loss on a resource this host does not write to is an impairment of the host, not a loss.
  const loss: Verdict = primary ? "lost" : "degraded";
  const evidence: VerdictEvidence[] = [];
  const add = (fact: Omit<VerdictEvidence, "resource">) => evidence.push({ resource: resource.name, ...fact });

  add({ field: "role", value: resource.role, verdict: "healthy", text: primary ? "Primary on this host" : `${resource.role} on this host: cannot make the host lost` });
  if (resource.promotionScore !== undefined) {
    const may = resource.mayPromote === undefined ? "" : `may_promote:${yesNo(resource.mayPromote)} `;
    add({ field: "promotion_score", value: String(resource.promotionScore), verdict: "healthy", text: `${may}promotion_score:${resource.promotionScore}` });
  }

  const withoutQuorum = resource.devices.filter((device) => device.quorum === false);
  for (const device of withoutQuorum) {
    add({
      field: "quorum",
      value: "no",
      volume: device.volume,
      verdict: loss,
      text: primary ? `volume ${device.volume}: no quorum while Primary: DRBD fails or freezes its writes` : `volume ${device.volume}: no quorum (not Primary here)`,
    });
  }
  const withQuorum = resource.devices.filter((device) => device.quorum === true);
  if (withoutQuorum.length === 0 && withQuorum.length > 0) {
    add({ field: "quorum", value: "yes", verdict: "healthy", text: withQuorum.length === 1 ? "quorum held" : `quorum held on all ${withQuorum.length} volumes` });
  }

  if (resource.suspended) {
    const reasons = resource.suspendedReasons;
    if (reasons === undefined || reasons.length === 0) {
      add({ field: "suspended", value: "yes", verdict: "degraded", text: "I/O suspended (this drbd-utils does not say why)" });
    }
    for (const reason of reasons ?? []) {
      const value = reasons?.join(",") ?? reason;
      switch (reason) {
        case "quorum":
          add({ field: "suspended", value, verdict: loss, text: "I/O suspended for lack of quorum (on-no-quorum suspend-io): writes freeze" });
          break;
        case "no-data":
        case "no-disk":
          add({ field: "suspended", value, verdict: loss, text: "I/O suspended: no data accessible (on-no-data-accessible suspend-io)" });
          break;
        case "user":
          add({ field: "suspended", value, verdict: "degraded", text: "I/O suspended by an administrator (drbdsetup suspend-io)" });
          break;
        case "fencing":
          add({ field: "suspended", value, verdict: "degraded", text: "I/O suspended while the fence-peer handler runs" });
          break;
        default:
          add({ field: "suspended", value, verdict: "degraded", text: `I/O suspended (${reason})` });
      }
    }
  }
  if (resource.forceIoFailures === true) {
    add({ field: "force-io-failures", value: "yes", verdict: "degraded", text: "DRBD fails I/O on purpose (after secondary --force)" });
  }

  let disksUpToDate = 0;
  for (const device of resource.devices) {
    if (device.disk === "UpToDate") {
      disksUpToDate++;
    } else {
      const peers = peersWithUpToDate(resource, device.volume);
      const disk = describeDisk(device);
      if (peers.length === 0) {
        add({ field: "disk", value: device.disk, volume: device.volume, verdict: loss, text: `volume ${device.volume}: ${disk} and no connected peer UpToDate: no data accessible` });
      } else if (device.disk === "Diskless" && device.client === true) {
        add({ field: "disk", value: device.disk, volume: device.volume, verdict: "healthy", text: `volume ${device.volume}: diskless client, data through ${peers.join(", ")}` });
      } else {
        add({ field: "disk", value: device.disk, volume: device.volume, verdict: "degraded", text: `volume ${device.volume}: ${disk}, data served by UpToDate peer ${peers.join(", ")}` });
      }
    }
    if (device.blocked !== undefined && device.blocked !== "no") {
      const where = device.blocked === "lower" ? "by the backing device" : device.blocked === "upper" ? "by DRBD (new requests held)" : "by DRBD and the backing device";
      add({ field: "blocked", value: device.blocked, volume: device.volume, verdict: "degraded", text: `volume ${device.volume}: I/O blocked ${where}` });
    }
  }
  if (disksUpToDate > 0 && disksUpToDate === resource.devices.length) {
    add({ field: "disk", value: "UpToDate", verdict: "healthy", text: disksUpToDate === 1 ? "local disk UpToDate" : `local disk UpToDate on all ${disksUpToDate} volumes` });
  }

  let connected = 0;
  for (const connection of resource.connections) {
    if (connection.state !== "Connected") {
      add({ field: "connection", value: connection.state, peer: connection.name, verdict: "degraded", text: describeDown(connection) });
      continue;
    }
    connected++;
    if (connection.congested === true) {
      const inFlight = connection.apInFlightKiB === undefined ? "" : `, ${connection.apInFlightKiB} KiB of application writes in flight`;
      add({ field: "congested", value: "yes", peer: connection.name, verdict: "degraded", text: `link to ${connection.name} congested${inFlight}` });
    }
    for (const peer of connection.peerDevices) {
      const at = { peer: connection.name, volume: peer.volume };
      if (RESYNC_STATES.has(peer.replication)) {
        add({ field: "replication", value: peer.replication, ...at, verdict: "degraded", text: describeResync(connection, peer) });
      } else if (peer.replication === "VerifyS" || peer.replication === "VerifyT") {
        add({ field: "replication", value: peer.replication, ...at, verdict: "degraded", text: `volume ${peer.volume}: online verify with ${connection.name}` });
      } else if (peer.replication === "Ahead" || peer.replication === "Behind") {
        const who = peer.replication === "Ahead" ? `this host runs Ahead of ${connection.name}` : `this host is Behind ${connection.name}`;
        add({ field: "replication", value: peer.replication, ...at, verdict: "degraded", text: `volume ${peer.volume}: ${who} (congestion: replication pulled ahead, resync follows)` });
      } else if (peer.peerDisk !== "UpToDate" && !(peer.peerDisk === "Diskless" && peer.peerClient === true)) {
        add({ field: "peer-disk", value: peer.peerDisk, ...at, verdict: "degraded", text: `volume ${peer.volume}: disk of ${connection.name} is ${peer.peerDisk}` });
      }
    }
  }
  if (resource.connections.length > 0 && connected === resource.connections.length) {
    const names = resource.connections.map((connection) => connection.name).join(", ");
    add({ field: "connection", value: "Connected", verdict: "healthy", text: `${connected === 1 ? "peer" : `all ${connected} peers`} Connected (${names})` });
  }

  return {
    name: resource.name,
    role: resource.role,
    verdict: worstVerdict(evidence.map((fact) => fact.verdict)),
    evidence,
    ...optional("mayPromote", resource.mayPromote),
    ...optional("promotionScore", resource.promotionScore),
  };
}

/** The host's verdict: the worst of its resources (only a Primary can make it lost). */
export function classifyHost(snapshot: DrbdSnapshot): HostVerdict {
  const resources = snapshot.resources.map(classifyResource);
  const verdict = worstVerdict(resources.map((resource) => resource.verdict));
  const lostFacts = resources.flatMap((resource) => resource.evidence.filter((fact) => fact.verdict === "lost"));
  const quorumLost = lostFacts.some((fact) => fact.field === "quorum" || (fact.field === "suspended" && fact.value.split(",").includes("quorum")));
  return { verdict, source: snapshot.source, quorumLost, resources, summary: summarize(verdict, resources) };
}

function summarize(verdict: Verdict, resources: readonly ResourceVerdict[]): string {
  if (resources.length === 0) return "no DRBD resources on this host";
  const primaries = resources.filter((resource) => resource.role === "Primary").length;
  const counts = `${resources.length} resource${resources.length === 1 ? "" : "s"}, ${primaries} Primary`;
  if (verdict === "healthy") return `${counts}; nothing impaired`;
  // The facts behind the verdict, grouped by resource; a host with many impaired resources stays one line.
  const behind = resources
    .map((resource) => ({ name: resource.name, facts: resource.evidence.filter((fact) => fact.verdict === verdict).map((fact) => fact.text) }))
    .filter((resource) => resource.facts.length > 0);
  const shown = behind
    .slice(0, 3)
    .map((resource) => `${resource.name}: ${resource.facts.join(", ")}`)
    .join("; ");
  const more = behind.length > 3 ? `; and ${behind.length - 3} more resources` : "";
  return `${counts}; ${shown}${more}`;
}
