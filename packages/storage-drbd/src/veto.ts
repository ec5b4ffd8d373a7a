// The drbd-quorum veto of hb.fence.verify: does the kernel itself stop a second writer of every
// resource this host writes? Then a fence would only take the VMs down.
import type { Clock } from "@hb/core";
import { readResourceOptions, readSnapshot, type DrbdsetupOptions } from "./drbdsetup.js";
import { DrbdCommandError } from "./errors.js";
import type { DrbdSnapshot } from "./model.js";
import type { DrbdResourceOptions } from "./show-json.js";
import { classifyHost, type HostVerdict } from "./verdict.js";

export interface PrimaryCheck {
  readonly resource: string;
  readonly ok: boolean;
  /** What holds, in words. */
  readonly facts: readonly string[];
  /** Why this resource allows no veto. */
  readonly blockers: readonly string[];
}

export interface DrbdVetoJudgement {
  readonly veto: boolean;
  readonly summary: string;
  readonly verdict: HostVerdict["verdict"];
  readonly primaries: readonly PrimaryCheck[];
}

/**
 * A veto only where every resource this host is Primary of has quorum (reported by DRBD and
 * configured: `quorum` not off), reaches UpToDate data (locally or through a connected peer)
 * and allows no second Primary: then the kernel stops a second writer, and the VMs cannot run
 * twice. With no Primary at all DRBD vouches for no writer here (and kvmspheartbeat.sh -c
 * also serves StorPool), so there is no veto either.
 */
export function judgeDrbdVeto(snapshot: DrbdSnapshot, options: readonly DrbdResourceOptions[]): DrbdVetoJudgement {
  const host = classifyHost(snapshot);
  if (snapshot.resources.length === 0) {
    return { veto: false, verdict: host.verdict, primaries: [], summary: "no DRBD resources on this host: nothing DRBD could vouch for" };
  }
  const primaries: PrimaryCheck[] = [];
  for (const resource of snapshot.resources) {
    if (resource.role !== "Primary") continue;
    const verdict = host.resources.find((candidate) => candidate.name === resource.name);
    const facts: string[] = [];
    const blockers: string[] = [];
    for (const fact of verdict?.evidence ?? []) if (fact.verdict === "lost") blockers.push(fact.text);
    const quorumKnown = resource.devices.length > 0 && resource.devices.every((device) => device.quorum !== undefined);
    if (!quorumKnown) blockers.push("DRBD does not report quorum for it (drbd-utils without quorum:)");
    else if (resource.devices.every((device) => device.quorum === true)) facts.push("quorum:yes");
    const dataFacts = (verdict?.evidence ?? []).filter((fact) => fact.field === "disk" && fact.verdict !== "lost").map((fact) => fact.text);
    facts.push(...dataFacts);
    const configured = options.find((candidate) => candidate.name === resource.name);
    if (configured === undefined) {
      blockers.push("not in drbdsetup show: its quorum setting and allow-two-primaries cannot be read");
    } else {
      if (configured.quorum === undefined || configured.quorum === "off") blockers.push(`quorum ${configured.quorum ?? "not set"}: DRBD does not stop a writer that lost its peers`);
      else facts.push(`quorum ${configured.quorum}, on-no-quorum ${configured.onNoQuorum ?? "?"}`);
      const dual = configured.connections.filter((connection) => connection.allowTwoPrimaries === true).map((connection) => connection.peer ?? `node ${connection.peerNodeId ?? "?"}`);
      if (configured.allowTwoPrimaries) blockers.push(`allow-two-primaries${dual.length > 0 ? ` with ${dual.join(", ")}` : ""} (a live migration): a second writer is possible`);
      else facts.push("allow-two-primaries no");
    }
    const otherPrimaries = resource.connections.filter((connection) => connection.peerRole === "Primary").map((connection) => connection.name);
    if (otherPrimaries.length > 0) blockers.push(`${otherPrimaries.join(", ")} Primary too`);
    primaries.push({ resource: resource.name, ok: blockers.length === 0, facts, blockers });
  }
  if (primaries.length === 0) {
    return { veto: false, verdict: host.verdict, primaries, summary: `this host is Primary of none of its ${snapshot.resources.length} DRBD resources: DRBD vouches for no writer here` };
  }
  const failing = primaries.filter((primary) => !primary.ok);
  const shown = (list: readonly PrimaryCheck[], pick: (primary: PrimaryCheck) => readonly string[]) =>
    list
      .slice(0, 3)
      .map((primary) => `${primary.resource}: ${pick(primary).join(", ")}`)
      .join("; ") + (list.length > 3 ? `; and ${list.length - 3} more` : "");
  if (failing.length > 0) {
    return { veto: false, verdict: host.verdict, primaries, summary: `DRBD does not vouch for ${failing.length} of ${primaries.length} Primary resource(s): ${shown(failing, (primary) => primary.blockers)}` };
  }
  return {
    veto: true,
    verdict: host.verdict,
    primaries,
    summary: `DRBD quorum holds on all ${primaries.length} Primary resource(s), with UpToDate data and no second Primary allowed (${shown(primaries, (primary) => primary.facts)})`,
  };
}

export type DrbdVetoCheck =
  | { readonly kind: "unavailable"; readonly reason: string }
  | { readonly kind: "no-verdict"; readonly reason: string }
  | { readonly kind: "judged"; readonly judgement: DrbdVetoJudgement; readonly elapsedMs: number };

// drbdsetup that cannot start, or exits 20 (no drbd module): this host has no DRBD to ask.
function drbdUnavailable(error: unknown): boolean {
  return error instanceof DrbdCommandError && (error.failure === "not-started" || (error.failure === "exit" && error.exitCode === 20));
}

/**
 * Ask DRBD (status and configured options, both at once, each bounded by deadlineMs) and judge
 * the veto. `unavailable`: not a DRBD host (no drbdsetup, or no drbd module); `no-verdict`: DRBD
 * could not be read in time.
 */
export async function checkDrbdVeto(options: Pick<DrbdsetupOptions, "executor" | "drbdsetup" | "deadlineMs"> & { readonly clock: Clock }): Promise<DrbdVetoCheck> {
  const { clock, deadlineMs } = options;
  if (deadlineMs <= 0) return { kind: "no-verdict", reason: "no time left to ask DRBD" };
  const started = clock.monoMs();
  const drbd = { executor: options.executor, drbdsetup: options.drbdsetup, deadlineMs };
  const [snapshot, configured] = await Promise.allSettled([readSnapshot(drbd), readResourceOptions(drbd)]);
  if (snapshot.status === "rejected") {
    if (drbdUnavailable(snapshot.reason)) return { kind: "unavailable", reason: (snapshot.reason as Error).message };
    return { kind: "no-verdict", reason: (snapshot.reason as Error).message };
  }
  if (configured.status === "rejected") return { kind: "no-verdict", reason: `${(configured.reason as Error).message}: quorum settings and allow-two-primaries unknown` };
  return { kind: "judged", judgement: judgeDrbdVeto(snapshot.value, configured.value), elapsedMs: clock.monoMs() - started };
}
