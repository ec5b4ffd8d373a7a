// The one-owner rule: when hbd runs and watches the storage of a -c, hbd owns the decision, as
// long as it is working and its verdict is not dead. Only root can keep hb from fencing: hbd's
// verdict counts only when it comes over hbd's control socket, checked for owner and mode.
import { formatSeconds } from "@hb/config";
import type { NoFenceEvidence } from "@hb/fence";
import type { ControlAnswer, DaemonTarget, DaemonView } from "./hbd-client.js";

/**
 * The storage a -c call is about: an NFS pool by its mount point (kvmheartbeat.sh), a
 * SharedMountPoint pool by its path (kvmsmpheartbeat.sh), or LINSTOR/StorPool (kvmspheartbeat.sh).
 */
export type FenceStorage = { readonly kind: "nfs" | "smp"; readonly mountPoint: string | undefined } | { readonly kind: "shared-block" };

const stripSlashes = (path: string) => path.replace(/\/+$/, "") || "/";

/** hbd's targets for the storage of this -c: the NFS or SharedMountPoint pool at -m, or every LINSTOR target. */
export function daemonTargetsFor(view: DaemonView, storage: FenceStorage): DaemonTarget[] {
  if (storage.kind !== "shared-block") {
    const wanted = storage.mountPoint;
    if (wanted === undefined) return [];
    return view.targets.filter((target) => target.kind === storage.kind && target.mountPoint !== undefined && stripSlashes(target.mountPoint) === stripSlashes(wanted));
  }
  return view.targets.filter((target) => target.kind === "linstor");
}

export type DaemonVerdict =
  | { readonly kind: "defer"; readonly detail: string; readonly evidence: NoFenceEvidence }
  /** hbd says the storage is dead: act, without another look at it. */
  | { readonly kind: "dead"; readonly note: string; readonly evidence: NoFenceEvidence }
  /** hbd cannot vouch for it (unhealthy, or never saw it work): decide here, loudly. */
  | { readonly kind: "not-owned"; readonly note: string; readonly evidence: NoFenceEvidence }
  /** hbd does not watch this storage: the -c is the agent's alone. */
  | { readonly kind: "no-target"; readonly note: string };

function describeTarget(target: DaemonTarget): string {
  const age = target.lastGoodAgeMs === null ? "never" : `${formatSeconds(target.lastGoodAgeMs)} ago`;
  return `${target.id} ${target.state ?? "not yet tried"} (last good heartbeat ${age})`;
}

/** The one-owner rule: hbd decides for a storage it watches, as long as it is working and its verdict is not dead. */
export function judgeDaemon(view: DaemonView, storage: FenceStorage): DaemonVerdict {
  const targets = daemonTargetsFor(view, storage);
  const what = storage.kind === "shared-block" ? "a LINSTOR/DRBD target" : `${storage.kind === "nfs" ? "an NFS" : "a SharedMountPoint"} pool at ${storage.mountPoint ?? "(no -m given)"}`;
  if (targets.length === 0) return { kind: "no-target", note: `hbd ${view.version} at ${view.address} watches no ${what.replace(/^an? /, "")}` };
  const evidence = { hbd: view.address, version: view.version, healthy: view.healthy, maintenance: view.maintenance, targets };
  const dead = targets.filter((target) => target.state === "dead");
  if (dead.length > 0) {
    return { kind: "dead", note: `hbd's verdict: ${dead.map((target) => `${target.id} dead${target.lastChange?.reason === undefined ? "" : ` (${target.lastChange.reason})`}`).join(", ")}`, evidence };
  }
  if (view.maintenance !== null) {
    return { kind: "defer", detail: `hbd is in maintenance until ${view.maintenance.until} (fencing suspended on this host); ${targets.map(describeTarget).join(", ")}`, evidence };
  }
  if (!view.healthy) {
    return { kind: "not-owned", note: `hbd at ${view.address} answers but does not report itself healthy (event-loop lag, a stalled loop, or an hbd too old to say), so it cannot own the decision`, evidence };
  }
  const unarmed = targets.filter((target) => !target.armed);
  if (unarmed.length > 0) {
    return {
      kind: "not-owned",
      note: `hbd has had no good heartbeat from ${unarmed.map((target) => target.id).join(", ")} since it started (not armed: it would never fence for it), so it cannot own the decision`,
      evidence,
    };
  }
  return { kind: "defer", detail: `hbd's verdict: ${targets.map(describeTarget).join(", ")}; hbd owns the fence decision on this host`, evidence };
}

/** A control answer that is no answer, in words; loud unless hbd is simply not running. */
export function describeNoAnswer(answer: ControlAnswer): { readonly text: string; readonly reason: string; readonly loud: boolean } {
  if (answer.ok) {
    const reason = `${answer.socket} answered with something that is not hbd's status`;
    return { text: `hbd gives no usable answer (${reason})`, reason, loud: true };
  }
  switch (answer.failure) {
    case "untrusted":
      return { text: `hbd's control socket fails the ownership check, so its answer would prove nothing (${answer.reason})`, reason: answer.reason, loud: true };
    case "own-fault":
      return { text: `hb could not ask hbd for its own reasons (${answer.reason})`, reason: answer.reason, loud: true };
    case "unreachable":
      return { text: `hbd does not answer (${answer.reason})`, reason: answer.reason, loud: false };
    case "refused":
    case "timeout":
      return { text: `hbd does not answer (${answer.reason})`, reason: answer.reason, loud: true };
  }
}
