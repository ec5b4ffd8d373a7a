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

/** A fact about one resource, before it is tagged with the resource's name. */
type Fact = Omit<VerdictEvidence, "resource">;

/** The role (only a Primary can be lost) and DRBD's promotion score when it reports one. */
function roleFacts(resource: DrbdResourceState, primary: boolean): Fact[] {
  const facts: Fact[] = [{ field: "role", value: resource.role, verdict: "healthy", text: primary ? "Primary on this host" : `${resource.role} on this host: cannot make the host lost` }];
  if (resource.promotionScore !== undefined) {
    const may = resource.mayPromote === undefined ? "" : `may_promote:${yesNo(resource.mayPromote)} `;
    facts.push({ field: "promotion_score", value: String(resource.promotionScore), verdict: "healthy", text: `${may}promotion_score:${resource.promotionScore}` });
  }
  return facts;
}

/** Each volume without quorum (a loss when Primary), or quorum held on all of them. */
function quorumFacts(resource: DrbdResourceState, primary: boolean, loss: Verdict): Fact[] {
  const withoutQuorum = resource.devices.filter((device) => device.quorum === false);
  const facts: Fact[] = withoutQuorum.map((device) => ({
    field: "quorum",
    value: "no",
    volume: device.volume,
    verdict: loss,
    text: primary ? `volume ${device.volume}: no quorum while Primary: DRBD fails or freezes its writes` : `volume ${device.volume}: no quorum (not Primary here)`,
  }));
  const withQuorum = resource.devices.filter((device) => device.quorum === true);
  if (withoutQuorum.length === 0 && withQuorum.length > 0) {
    facts.push({ field: "quorum", value: "yes", verdict: "healthy", text: withQuorum.length === 1 ? "quorum held" : `quorum held on all ${withQuorum.length} volumes` });
  }
  return facts;
}

/** Why I/O is suspended: for quorum or for lack of data is a loss; by an administrator or the fence-peer handler, an impairment. */
function suspensionReasonFact(reason: string, value: string, loss: Verdict): Fact {
  switch (reason) {
    case "quorum":
      return { field: "suspended", value, verdict: loss, text: "I/O suspended for lack of quorum (on-no-quorum suspend-io): writes freeze" };
    case "no-data":
    case "no-disk":
      return { field: "suspended", value, verdict: loss, text: "I/O suspended: no data accessible (on-no-data-accessible suspend-io)" };
    case "user":
      return { field: "suspended", value, verdict: "degraded", text: "I/O suspended by an administrator (drbdsetup suspend-io)" };
    case "fencing":
      return { field: "suspended", value, verdict: "degraded", text: "I/O suspended while the fence-peer handler runs" };
    default:
      return { field: "suspended", value, verdict: "degraded", text: `I/O suspended (${reason})` };
  }
}

/** Suspended I/O, one fact per reason, and I/O failed on purpose. */
function ioFacts(resource: DrbdResourceState, loss: Verdict): Fact[] {
  const facts: Fact[] = [];
  if (resource.suspended) {
    const reasons = resource.suspendedReasons;
    if (reasons === undefined || reasons.length === 0) {
      facts.push({ field: "suspended", value: "yes", verdict: "degraded", text: "I/O suspended (this drbd-utils does not say why)" });
    }
    for (const reason of reasons ?? []) facts.push(suspensionReasonFact(reason, reasons?.join(",") ?? reason, loss));
  }
  if (resource.forceIoFailures === true) {
    facts.push({ field: "force-io-failures", value: "yes", verdict: "degraded", text: "DRBD fails I/O on purpose (after secondary --force)" });
  }
  return facts;
}

/** A volume whose local disk is not UpToDate: a loss when no connected peer has the data, else an impairment (or a client's normal state). */
function notUpToDateFact(resource: DrbdResourceState, device: DrbdDevice, loss: Verdict): Fact {
  const peers = peersWithUpToDate(resource, device.volume);
  const disk = describeDisk(device);
  const at = { field: "disk", value: device.disk, volume: device.volume };
  if (peers.length === 0) return { ...at, verdict: loss, text: `volume ${device.volume}: ${disk} and no connected peer UpToDate: no data accessible` };
  if (device.disk === "Diskless" && device.client === true) return { ...at, verdict: "healthy", text: `volume ${device.volume}: diskless client, data through ${peers.join(", ")}` };
  return { ...at, verdict: "degraded", text: `volume ${device.volume}: ${disk}, data served by UpToDate peer ${peers.join(", ")}` };
}

function blockedFact(volume: number, blocked: string): Fact {
  const where = blocked === "lower" ? "by the backing device" : blocked === "upper" ? "by DRBD (new requests held)" : "by DRBD and the backing device";
  return { field: "blocked", value: blocked, volume, verdict: "degraded", text: `volume ${volume}: I/O blocked ${where}` };
}

/** Each volume's local disk and blocked I/O, or the local disk UpToDate on all of them. */
function diskFacts(resource: DrbdResourceState, loss: Verdict): Fact[] {
  const facts: Fact[] = [];
  let disksUpToDate = 0;
  for (const device of resource.devices) {
    if (device.disk === "UpToDate") disksUpToDate++;
    else facts.push(notUpToDateFact(resource, device, loss));
    if (device.blocked !== undefined && device.blocked !== "no") facts.push(blockedFact(device.volume, device.blocked));
  }
  if (disksUpToDate > 0 && disksUpToDate === resource.devices.length) {
    facts.push({ field: "disk", value: "UpToDate", verdict: "healthy", text: disksUpToDate === 1 ? "local disk UpToDate" : `local disk UpToDate on all ${disksUpToDate} volumes` });
  }
  return facts;
}

/** What a connected peer's volume says: resync, online verify, congestion (Ahead/Behind), or a peer disk that is not UpToDate. */
function peerDeviceFact(connection: DrbdConnection, peer: DrbdPeerDevice): Fact | null {
  const at = { field: "replication", value: peer.replication, peer: connection.name, volume: peer.volume, verdict: "degraded" as const };
  if (RESYNC_STATES.has(peer.replication)) return { ...at, text: describeResync(connection, peer) };
  if (peer.replication === "VerifyS" || peer.replication === "VerifyT") return { ...at, text: `volume ${peer.volume}: online verify with ${connection.name}` };
  if (peer.replication === "Ahead" || peer.replication === "Behind") {
    const who = peer.replication === "Ahead" ? `this host runs Ahead of ${connection.name}` : `this host is Behind ${connection.name}`;
    return { ...at, text: `volume ${peer.volume}: ${who} (congestion: replication pulled ahead, resync follows)` };
  }
  if (peer.peerDisk !== "UpToDate" && !(peer.peerDisk === "Diskless" && peer.peerClient === true)) {
    return { ...at, field: "peer-disk", value: peer.peerDisk, text: `volume ${peer.volume}: disk of ${connection.name} is ${peer.peerDisk}` };
  }
  return null;
}

/** Each peer not connected, a congested link, what each connected peer's volumes say; or every peer Connected. */
function connectionFacts(resource: DrbdResourceState): Fact[] {
  const facts: Fact[] = [];
  let connected = 0;
  for (const connection of resource.connections) {
    if (connection.state !== "Connected") {
      facts.push({ field: "connection", value: connection.state, peer: connection.name, verdict: "degraded", text: describeDown(connection) });
      continue;
    }
    connected++;
    if (connection.congested === true) {
      const inFlight = connection.apInFlightKiB === undefined ? "" : `, ${connection.apInFlightKiB} KiB of application writes in flight`;
      facts.push({ field: "congested", value: "yes", peer: connection.name, verdict: "degraded", text: `link to ${connection.name} congested${inFlight}` });
    }
    for (const peer of connection.peerDevices) {
      const fact = peerDeviceFact(connection, peer);
      if (fact !== null) facts.push(fact);
    }
  }
  if (resource.connections.length > 0 && connected === resource.connections.length) {
    const names = resource.connections.map((connection) => connection.name).join(", ");
    facts.push({ field: "connection", value: "Connected", verdict: "healthy", text: `${connected === 1 ? "peer" : `all ${connected} peers`} Connected (${names})` });
  }
  return facts;
}

/** The verdict of one resource on this host, with every fact that led to it. */
export function classifyResource(resource: DrbdResourceState): ResourceVerdict {
  const primary = isPrimary(resource);
  // A loss on a resource this host does not write to is an impairment of the host, not a loss.
  const loss: Verdict = primary ? "lost" : "degraded";
  const facts = [...roleFacts(resource, primary), ...quorumFacts(resource, primary, loss), ...ioFacts(resource, loss), ...diskFacts(resource, loss), ...connectionFacts(resource)];
  const evidence: VerdictEvidence[] = facts.map((fact) => ({ resource: resource.name, ...fact }));
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
