import { isHbError } from "@hb/errors";
import { readHostHealth, readStatus, validateNodeName, type DrbdsetupOptions } from "./drbdsetup.js";
import type { LinstorNode, LinstorNodeSource } from "./linstor.js";
import type { DrbdSnapshot } from "./model.js";

/** alive: reachable now; dead: every shared resource sees it disconnected; unknown: no evidence either way. */
export type PeerAnswer = "alive" | "dead" | "unknown";

export interface PeerEvidence {
  /** Where the fact comes from: a DRBD resource, the LINSTOR controller, or this host. */
  readonly source: "drbd" | "linstor" | "self";
  readonly resource?: string;
  readonly field: string;
  readonly value: string;
  readonly text: string;
}

export interface PeerVerdict {
  readonly node: string;
  readonly answer: PeerAnswer;
  /** What decided: this host's DRBD connections, the LINSTOR controller, this host's own health, or nothing. */
  readonly decidedBy: "drbd" | "linstor" | "self" | "none";
  readonly evidence: readonly PeerEvidence[];
}

// Node names compare case-insensitively: LINSTOR treats them so, and upstream's self check does.
const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/**
 * The peer as this host's DRBD connections see it: alive if any shared resource has a
 * `Connected` connection to it (upstream's rule); dead if it shares resources but none is
 * connected; unknown when it shares none (upstream says dead there, which makes neighbours
 * without a shared resource vote a host dead).
 */
export function judgePeerFromDrbd(snapshot: DrbdSnapshot, node: string): PeerVerdict {
  const shared = snapshot.resources.flatMap((resource) =>
    resource.connections.filter((connection) => same(connection.name, node)).map((connection) => ({ resource: resource.name, connection })),
  );
  if (shared.length === 0) {
    return {
      node,
      answer: "unknown",
      decidedBy: "none",
      evidence: [
        { source: "drbd", field: "connection", value: "none", text: `this host shares none of its ${snapshot.resources.length} DRBD resources with ${node}` },
      ],
    };
  }
  const connected = shared.filter(({ connection }) => connection.state === "Connected");
  const facts = (connected.length > 0 ? connected : shared).map(
    ({ resource, connection }): PeerEvidence => ({
      source: "drbd",
      resource,
      field: "connection",
      value: connection.state,
      text: `${resource}: connection to ${connection.name} ${connection.state}${connection.peerRole === undefined ? "" : `, peer role ${connection.peerRole}`}`,
    }),
  );
  return { node, answer: connected.length > 0 ? "alive" : "dead", decidedBy: "drbd", evidence: facts };
}

/**
 * The controller's word on a node this host shares no resource with: ONLINE is alive, OFFLINE
 * is dead, anything else (or not listed) stays unknown. The controller can list a gone node as
 * Online (LINBIT/linstor-server#331), so this answer is only asked for when DRBD has none.
 */
export function judgePeerFromLinstor(nodes: readonly LinstorNode[], node: string, url: string): { answer: PeerAnswer; evidence: PeerEvidence } {
  const found = nodes.find((candidate) => same(candidate.name, node));
  if (found === undefined) {
    return { answer: "unknown", evidence: { source: "linstor", field: "connection_status", value: "(not listed)", text: `${url} does not list ${node}` } };
  }
  const status = found.connectionStatus;
  const answer: PeerAnswer = status === "ONLINE" ? "alive" : status === "OFFLINE" ? "dead" : "unknown";
  const meaning =
    answer === "alive"
      ? "its satellite answers the controller (controller only: no DRBD connection confirms it)"
      : answer === "dead"
        ? "the controller has lost its satellite"
        : "neither online nor offline";
  return { answer, evidence: { source: "linstor", field: "connection_status", value: status, text: `${url}: ${found.name} connection_status ${status}: ${meaning}` } };
}

export interface PeerCheckOptions extends DrbdsetupOptions {
  /** The node asked about (HostTO.parent upstream). */
  readonly node: string;
  /** This host's node name: asking about itself answers from its own health, as upstream does. */
  readonly nodeName?: string;
  /** Asked only when DRBD has no answer (no shared resource). */
  readonly linstor?: LinstorNodeSource;
}

/**
 * Is `node` alive? Reads `drbdsetup status --json` (throws DrbdCommandError/DrbdOutputError when
 * it cannot), and asks the LINSTOR controller only when no resource is shared; a controller that
 * does not answer leaves the answer unknown, with its error as evidence.
 */
export async function checkPeer(options: PeerCheckOptions): Promise<PeerVerdict> {
  const node = validateNodeName(options.node, "peer");
  if (options.nodeName !== undefined && same(node, options.nodeName)) {
    const health = await readHostHealth(options);
    return {
      node,
      answer: health.verdict === "lost" ? "dead" : "alive",
      decidedBy: "self",
      evidence: [{ source: "self", field: "verdict", value: health.verdict, text: `${node} is this host; its DRBD health: ${health.verdict} (${health.summary})` }],
    };
  }
  const fromDrbd = judgePeerFromDrbd(await readStatus(options), node);
  if (fromDrbd.answer !== "unknown" || options.linstor === undefined) return fromDrbd;
  const linstor = options.linstor;
  try {
    const nodes = await linstor.listNodes(options.deadlineMs, options.signal);
    const fromController = judgePeerFromLinstor(nodes, node, linstor.url);
    return {
      node,
      answer: fromController.answer,
      decidedBy: fromController.answer === "unknown" ? "none" : "linstor",
      evidence: [...fromDrbd.evidence, fromController.evidence],
    };
  } catch (error) {
    if (!isHbError(error)) throw error;
    return { ...fromDrbd, evidence: [...fromDrbd.evidence, { source: "linstor", field: "connection_status", value: "(no answer)", text: error.message }] };
  }
}

/** A peer verdict's evidence as one line of words. */
export function describePeer(verdict: PeerVerdict): string {
  return verdict.evidence.map((fact) => fact.text).join("; ");
}
