// What a -c entry point checks before it acts (hb.fence.verify), and the one-owner rule: when
// hbd runs, the agent's -c defers to it. Only root can keep hb from fencing: hbd's verdict counts
// only when it comes over hbd's control socket, checked for owner and mode; the TCP status
// endpoint is information for people and never a reason not to fence. Every step is bounded by
// the verification's deadline, which the timing model derives so that the action still starts
// before the agent kills -c.
import { deriveTiming, formatSeconds, hostIdOf, type FenceVerifyMode, type HeartbeatConfig } from "@hb/config";
import { printable, type Clock } from "@hb/core";
import { ipv4AddressOf } from "@hb/core/adapters";
import { AuditLog, readBootId, readFenceLogTail, sendSyslog, withinDeadline, type FenceVetoLine, type ReadFenceLogOptions } from "@hb/fence";
import {
  classifyHost,
  DrbdCommandError,
  readResourceOptions,
  readSnapshot,
  type DrbdResourceOptions,
  type DrbdSnapshot,
  type HostVerdict,
} from "@hb/storage-drbd";
import { findNfsMount, readMountTable, validateHostId, writeHeartbeat } from "@hb/storage-nfs";
import { randomUUID } from "node:crypto";
import { access } from "node:fs/promises";
import { hostname } from "node:os";
import type { RunDeps } from "../context.js";
import { askControl, boundedJson, type ControlAnswer, type PidFileRead } from "./daemon-client.js";

/** The storage a -c call is about: an NFS pool by its mount point (kvmheartbeat.sh), or LINSTOR/StorPool (kvmspheartbeat.sh). */
export type FenceStorage = { readonly kind: "nfs"; readonly mountPoint: string | undefined } | { readonly kind: "shared-block" };

/** Who did not fence and why: a check of this host's storage, or hbd owning the decision. */
export type NoFenceCheck = "drbd-quorum" | "storage" | "hbd";

/** A fact behind a veto, a deferral or a note, for the record. */
export interface VerifyEvidence {
  readonly [field: string]: unknown;
}

export type VerifyOutcome =
  | { readonly kind: "no-fence"; readonly outcome: "vetoed" | "deferred"; readonly check: NoFenceCheck; readonly detail: string; readonly evidence: VerifyEvidence }
  /** Act as configured; `note` goes into the fence record's reason, `loud` is said in syslog first. */
  | { readonly kind: "act"; readonly notes: readonly string[]; readonly loud: readonly string[]; readonly evidence: VerifyEvidence };

// ---------------------------------------------------------------------------------------------
// hbd: is it running, and what is its verdict for this storage?

/** hbd's status document, as far as -c relies on it. */
export interface DaemonTarget {
  readonly id: string;
  readonly kind: string;
  readonly mountPoint?: string;
  readonly state: string | null;
  readonly armed: boolean;
  readonly lastGoodAt: string | null;
  readonly lastGoodAgeMs: number | null;
  readonly lastChange: { readonly reason?: string } | null;
}

export interface DaemonView {
  readonly address: string;
  readonly version: string;
  readonly healthy: boolean;
  readonly maintenance: { readonly until: string } | null;
  readonly targets: readonly DaemonTarget[];
}

export type DaemonAnswer = { readonly answered: true; readonly view: DaemonView } | { readonly answered: false; readonly reason: string };

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** hbd's status document, or null when it is not one (another program answering). */
export function parseDaemonStatus(value: unknown, address: string, healthy: boolean): DaemonView | null {
  if (!isObject(value) || !Array.isArray(value.targets) || typeof value.version !== "string") return null;
  const targets: DaemonTarget[] = [];
  for (const raw of value.targets as unknown[]) {
    if (!isObject(raw) || typeof raw.id !== "string" || typeof raw.kind !== "string") return null;
    targets.push({
      id: raw.id,
      kind: raw.kind,
      ...(typeof raw.mountPoint === "string" ? { mountPoint: raw.mountPoint } : {}),
      state: typeof raw.state === "string" ? raw.state : null,
      armed: raw.armed === true,
      lastGoodAt: typeof raw.lastGoodAt === "string" ? raw.lastGoodAt : null,
      lastGoodAgeMs: typeof raw.lastGoodAgeMs === "number" ? raw.lastGoodAgeMs : null,
      lastChange: isObject(raw.lastChange) ? { ...(typeof raw.lastChange.reason === "string" ? { reason: raw.lastChange.reason } : {}) } : null,
    });
  }
  const maintenance = isObject(value.maintenance) && typeof value.maintenance.until === "string" ? { until: value.maintenance.until } : null;
  return { address, version: value.version, healthy, maintenance, targets };
}

/** hbd's own word on its health, in its control answer; missing means not healthy. */
export function healthyOf(value: unknown): boolean {
  return isObject(value) && value.healthy === true;
}

/**
 * Ask hbd over its loopback status endpoint: /status and /healthz, both within deadlineMs. For
 * people only (hb doctor): any local user can listen on that port, so its answer is never a
 * reason not to fence. A stopped hbd still accepts the connection (the kernel does) and never
 * answers: the deadline is what tells.
 */
export async function askDaemon(listen: string, deadlineMs: number): Promise<DaemonAnswer> {
  if (deadlineMs <= 0) return { answered: false, reason: "no time left to ask" };
  const signal = AbortSignal.timeout(deadlineMs);
  const base = `http://${listen}`;
  try {
    const [status, health] = await Promise.all([fetch(`${base}/status`, { signal }), fetch(`${base}/healthz`, { signal })]);
    if (!status.ok) return { answered: false, reason: `${base}/status answered HTTP ${status.status}` };
    const body = await boundedJson(status);
    await health.arrayBuffer().catch(() => undefined);
    const view = parseDaemonStatus(body, listen, health.status === 200);
    return view === null ? { answered: false, reason: `${base}/status is not hbd's status` } : { answered: true, view };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    const why = signal.aborted ? `no answer within ${deadlineMs} ms` : (cause ?? (error as Error).message);
    return { answered: false, reason: `${base}: ${why}` };
  }
}

/** The host's deployment mode: drop-in (the agent's monitor drives) or hbd-owned (hbd runs the loop). */
export interface ModeMarkers {
  /** `<hb.state.dir>/hbd.pid`: hbd runs, or did not stop cleanly. */
  readonly pidFile: { readonly path: string; readonly pid: number | null; readonly alive: boolean } | null;
  /** A systemd wants-link of hbd.service: hbd is meant to run at boot. */
  readonly enabledUnit: string | null;
}

export const HBD_UNIT_LINKS: readonly string[] = [
  "/etc/systemd/system/multi-user.target.wants/hbd.service",
  "/etc/systemd/system/default.target.wants/hbd.service",
];

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function pidFileMarker(pidFile: PidFileRead): ModeMarkers["pidFile"] {
  if (!pidFile.read || pidFile.text === null) return null;
  // The pid is the first line (hbd writes its boot id after it).
  const pid = Number(pidFile.text.split("\n")[0]?.trim());
  const validPid = Number.isInteger(pid) && pid > 0 ? pid : null;
  return { path: pidFile.path, pid: validPid, alive: validPid !== null && processAlive(validPid) };
}

/**
 * The markers of the hbd-owned mode: hbd.pid as read beside the control socket (by the child
 * that asked hbd: the state folder may hang), and the unit links in /etc (local, bounded anyway).
 */
export async function readModeMarkers(pidFile: PidFileRead, clock: Clock, deadlineMs: number, unitLinks: readonly string[] = HBD_UNIT_LINKS): Promise<ModeMarkers> {
  const read = async (): Promise<string | null> => {
    for (const link of unitLinks) if (await access(link).then(() => true, () => false)) return link;
    return null;
  };
  const links = await withinDeadline(clock, Math.max(0, deadlineMs), read()).catch(() => ({ done: false as const }));
  return { pidFile: pidFileMarker(pidFile), enabledUnit: links.done ? links.value : null };
}

export function hbdOwned(markers: ModeMarkers): boolean {
  return markers.pidFile !== null || markers.enabledUnit !== null;
}

function describeMarkers(markers: ModeMarkers): string {
  const parts: string[] = [];
  if (markers.pidFile !== null) {
    const { path, pid, alive } = markers.pidFile;
    parts.push(pid === null ? `${path} exists` : alive ? `hbd runs as pid ${pid} (${path})` : `${path} names pid ${pid}, which is gone (hbd did not stop cleanly)`);
  }
  if (markers.enabledUnit !== null) parts.push(`hbd.service is enabled (${markers.enabledUnit})`);
  return parts.join("; ");
}

const stripSlashes = (path: string) => path.replace(/\/+$/, "") || "/";

/** hbd's targets for the storage of this -c: the NFS pool at -m, or every LINSTOR target. */
export function daemonTargetsFor(view: DaemonView, storage: FenceStorage): DaemonTarget[] {
  if (storage.kind === "nfs") {
    const wanted = storage.mountPoint;
    if (wanted === undefined) return [];
    return view.targets.filter((target) => target.kind === "nfs" && target.mountPoint !== undefined && stripSlashes(target.mountPoint) === stripSlashes(wanted));
  }
  return view.targets.filter((target) => target.kind === "linstor");
}

export type DaemonVerdict =
  | { readonly kind: "defer"; readonly detail: string; readonly evidence: VerifyEvidence }
  /** hbd says the storage is dead: act, without another look at it. */
  | { readonly kind: "dead"; readonly note: string; readonly evidence: VerifyEvidence }
  /** hbd cannot vouch for it (unhealthy, or never saw it work): decide here, loudly. */
  | { readonly kind: "not-owned"; readonly note: string; readonly evidence: VerifyEvidence }
  /** hbd does not watch this storage: the -c is the agent's alone. */
  | { readonly kind: "no-target"; readonly note: string };

function describeTarget(target: DaemonTarget): string {
  const age = target.lastGoodAgeMs === null ? "never" : `${formatSeconds(target.lastGoodAgeMs)} ago`;
  return `${target.id} ${target.state ?? "not yet tried"} (last good heartbeat ${age})`;
}

/** The one-owner rule: hbd decides for a storage it watches, as long as it is working and its verdict is not dead. */
export function judgeDaemon(view: DaemonView, storage: FenceStorage): DaemonVerdict {
  const targets = daemonTargetsFor(view, storage);
  const what = storage.kind === "nfs" ? `an NFS pool at ${storage.mountPoint ?? "(no -m given)"}` : "a LINSTOR/DRBD target";
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
function noAnswer(answer: ControlAnswer): { readonly text: string; readonly reason: string; readonly loud: boolean } {
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

// ---------------------------------------------------------------------------------------------
// drbd-quorum: does the kernel itself stop a second writer of every resource this host writes?

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

type DrbdCheck =
  | { readonly kind: "unavailable"; readonly reason: string }
  | { readonly kind: "no-verdict"; readonly reason: string }
  | { readonly kind: "judged"; readonly judgement: DrbdVetoJudgement; readonly elapsedMs: number };

// drbdsetup that cannot start, or exits 20 (no drbd module): this host has no DRBD to ask.
function drbdUnavailable(error: unknown): boolean {
  return error instanceof DrbdCommandError && (error.failure === "not-started" || (error.failure === "exit" && error.exitCode === 20));
}

async function checkDrbd(config: HeartbeatConfig, deps: RunDeps, deadlineMs: number): Promise<DrbdCheck> {
  if (deadlineMs <= 0) return { kind: "no-verdict", reason: "no time left to ask DRBD" };
  const started = deps.clock.monoMs();
  const drbd = { executor: deps.executor, drbdsetup: config["hb.drbd.drbdsetup"], deadlineMs };
  // Both at once: each is bounded, so the pair takes no longer than the slower one's deadline.
  const [snapshot, options] = await Promise.allSettled([readSnapshot(drbd), readResourceOptions(drbd)]);
  if (snapshot.status === "rejected") {
    if (drbdUnavailable(snapshot.reason)) return { kind: "unavailable", reason: (snapshot.reason as Error).message };
    return { kind: "no-verdict", reason: (snapshot.reason as Error).message };
  }
  if (options.status === "rejected") return { kind: "no-verdict", reason: `${(options.reason as Error).message}: quorum settings and allow-two-primaries unknown` };
  return { kind: "judged", judgement: judgeDrbdVeto(snapshot.value, options.value), elapsedMs: deps.clock.monoMs() - started };
}

// ---------------------------------------------------------------------------------------------
// storage (NFS): one more bounded heartbeat write.

type WriteCheck = { readonly ok: true; readonly detail: string; readonly evidence: VerifyEvidence } | { readonly ok: false; readonly note: string };

async function checkNfsWrite(config: HeartbeatConfig, deps: RunDeps, mountPoint: string | undefined, deadlineMs: number): Promise<WriteCheck> {
  if (mountPoint === undefined) return { ok: false, note: "hb.fence.verify=storage: no -m, so no pool to write to" };
  const hostId = hostIdOf(config, ipv4AddressOf);
  if (hostId === undefined) return { ok: false, note: "hb.fence.verify=storage: no host id for the heartbeat file (set hb.host.ip or private.network.device)" };
  try {
    validateHostId(hostId);
    // A pool that is not mounted would take the write on the local disk under it: no proof at all.
    const mount = findNfsMount(await readMountTable(config["hb.mounts.file"]), mountPoint);
    if (mount === undefined) return { ok: false, note: `hb.fence.verify=storage: ${mountPoint} is not an NFS mount in ${config["hb.mounts.file"]}, so a write there proves nothing` };
  } catch (error) {
    return { ok: false, note: `hb.fence.verify=storage: ${(error as Error).message}` };
  }
  if (deadlineMs <= 0) return { ok: false, note: "hb.fence.verify=storage: no time left for a heartbeat write" };
  const result = await writeHeartbeat({ executor: deps.executor, mountPoint, hostId, nowEpochSeconds: Math.floor(deps.clock.wallMs() / 1000), deadlineMs });
  if (!result.ok) return { ok: false, note: `one more heartbeat write to ${result.file} failed: ${result.message}` };
  return {
    ok: true,
    detail: `one more heartbeat write to ${result.file} succeeded in ${Math.round(result.durationMs)} ms (read-back ${result.readback}); hb.fence.verify=storage vetoes on that, which is NOT split-brain safe`,
    evidence: { file: result.file, durationMs: Math.round(result.durationMs), readback: result.readback },
  };
}

// ---------------------------------------------------------------------------------------------
// The verification of one -c call.

export interface VerifyRequest {
  readonly source: "kvmheartbeat.sh" | "kvmspheartbeat.sh";
  readonly target: string;
  readonly storage: FenceStorage;
  readonly config: HeartbeatConfig;
}

/**
 * Decide whether this -c fences. In order: hbd's verdict when hbd watches this storage (one
 * owner); then the configured check of the storage itself. Anything that cannot be known
 * within the deadline means: act as configured.
 */
export async function verifyFence(request: VerifyRequest, deps: RunDeps): Promise<VerifyOutcome> {
  const { config } = request;
  const timing = deriveTiming(config).verify;
  const started = deps.clock.monoMs();
  const remaining = () => Math.max(0, Math.floor(timing.deadlineMs - (deps.clock.monoMs() - started)));
  const notes: string[] = [];
  const loud: string[] = [];
  const evidence: Record<string, unknown> = { verify: { mode: timing.mode, deadlineMs: timing.deadlineMs } };
  if (timing.deadlineMs <= 0) {
    notes.push(`no time to verify within heartbeat.update.timeout (${formatSeconds(timing.agentKillsAtMs)})`);
    return { kind: "act", notes, loud, evidence };
  }

  // hbd's verdict counts only over its control socket (root's); the TCP endpoint is not asked.
  const queryMs = Math.min(timing.daemonQueryMs, remaining());
  const answer = await askControl(config["hb.state.dir"], { op: "status" }, deps, queryMs);
  const markers = await readModeMarkers(answer.pidFile, deps.clock, Math.min(timing.daemonQueryMs, remaining()));
  let hbdDecided = false;
  const view = answer.ok ? parseDaemonStatus(answer.result, answer.socket, healthyOf(answer.result)) : null;
  if (view !== null) {
    const verdict = judgeDaemon(view, request.storage);
    switch (verdict.kind) {
      case "defer":
        return { kind: "no-fence", outcome: "deferred", check: "hbd", detail: verdict.detail, evidence: { ...evidence, ...verdict.evidence } };
      case "dead":
        notes.push(verdict.note);
        evidence.hbd = verdict.evidence;
        hbdDecided = true;
        break;
      case "not-owned":
        notes.push(verdict.note);
        loud.push(`${verdict.note}: deciding here, as configured`);
        evidence.hbd = verdict.evidence;
        break;
      case "no-target":
        if (hbdOwned(markers)) notes.push(verdict.note);
        break;
    }
  } else {
    const silent = noAnswer(answer);
    // A missing socket is the drop-in mode's normal case; anything else is said, loudly.
    if (silent.loud || hbdOwned(markers)) {
      const why = hbdOwned(markers) ? `${silent.text}; ${describeMarkers(markers)}` : silent.text;
      notes.push(why);
      loud.push(`${why}: deciding here, as configured (hb.fence.verify=${timing.mode}, action ${config["kvm.heartbeat.fence.action"]})`);
      evidence.hbd = { answered: false, failure: answer.ok ? "not-hbd" : answer.failure, reason: silent.reason, markers };
    }
  }
  if (hbdDecided) return { kind: "act", notes, loud, evidence };

  const mode: FenceVerifyMode = timing.mode;
  if (mode === "none") return { kind: "act", notes, loud, evidence };
  if (request.storage.kind === "shared-block") {
    const drbd = await checkDrbd(config, deps, remaining());
    switch (drbd.kind) {
      case "unavailable":
        // Not a DRBD host (StorPool, or no drbd module): nothing to verify, as upstream.
        break;
      case "no-verdict":
        notes.push(`no DRBD verdict within ${timing.deadlineMs} ms: ${drbd.reason}`);
        loud.push(`hb.fence.verify=${mode}: no DRBD verdict within ${timing.deadlineMs} ms (${drbd.reason}): acting as configured`);
        break;
      case "judged":
        if (drbd.judgement.veto) {
          return {
            kind: "no-fence",
            outcome: "vetoed",
            check: "drbd-quorum",
            detail: `${drbd.judgement.summary}: the kernel stops a second writer, so a fence would only take the VMs down`,
            evidence: { ...evidence, drbd: { ...drbd.judgement, elapsedMs: Math.round(drbd.elapsedMs) } },
          };
        }
        notes.push(`hb's DRBD check (${drbd.judgement.verdict}): ${drbd.judgement.summary}`);
        evidence.drbd = drbd.judgement;
        break;
    }
    return { kind: "act", notes, loud, evidence };
  }
  // NFS: drbd-quorum never vetoes here; storage tries one more write.
  if (mode === "storage") {
    const write = await checkNfsWrite(config, deps, request.storage.mountPoint, remaining());
    if (write.ok) return { kind: "no-fence", outcome: "vetoed", check: "storage", detail: write.detail, evidence: { ...evidence, write: write.evidence } };
    notes.push(write.note);
  }
  return { kind: "act", notes, loud, evidence };
}

// ---------------------------------------------------------------------------------------------
// Records: a veto or deferral leaves a line in fence.jsonl, a syslog line, and a count in hbd.

/** A -c call that did not fence, as one line of fence.jsonl (`hb fence last` counts them). */
export interface NoFenceRecord extends FenceVetoLine {
  readonly wallMs: number;
  readonly bootId: string | null;
  readonly host: string;
  readonly source: string;
  readonly target: string;
  readonly check: NoFenceCheck;
  /** The action the agent asked for and that was not taken. */
  readonly action: string;
  readonly reason: string;
  readonly detail: string;
  readonly evidence: VerifyEvidence;
  readonly hbVersion: string;
}

export interface NoFenceOutcome {
  readonly record: NoFenceRecord;
  readonly recorded: string;
  readonly syslog: string;
  readonly reported: string;
}

/**
 * Record that this -c did not fence: fence.jsonl, syslog (tag heartbeat), and hbd's counter.
 * Run together, each bounded by hb.fence.step.timeout; none of them can hold the exit.
 */
export async function recordNoFence(
  request: VerifyRequest,
  outcome: Extract<VerifyOutcome, { kind: "no-fence" }>,
  deps: RunDeps,
): Promise<NoFenceOutcome> {
  const { config } = request;
  const step = config["hb.fence.step.timeout"];
  const stateDir = config["hb.state.dir"];
  const action = config["kvm.heartbeat.fence.action"];
  const wallMs = deps.clock.wallMs();
  const record: NoFenceRecord = {
    kind: outcome.outcome === "vetoed" ? "veto" : "deferral",
    id: randomUUID(),
    wallTime: new Date(wallMs).toISOString(),
    wallMs,
    monoMs: deps.clock.monoMs(),
    bootId: readBootId(),
    host: hostname(),
    source: request.source,
    target: request.target,
    check: outcome.check,
    action,
    reason: `the CloudStack agent ran ${request.source} -c`,
    detail: outcome.detail,
    evidence: outcome.evidence,
    hbVersion: deps.version,
  };
  const line =
    outcome.outcome === "deferred"
      ? `${request.source} -c: not fencing (${action}), deferred to hbd: ${outcome.detail}.`
      : `${request.source} -c: not fencing (${action}), vetoed by hb.fence.verify=${outcome.check}: ${outcome.detail}.`;
  // fence.jsonl's line types belong to @hb/fence; this one is read back by `hb fence last` only.
  const audit = new AuditLog(stateDir, deps.clock, step, deps.executor);
  const report = { op: "fence-veto", outcome: outcome.outcome, check: outcome.check, source: request.source, target: request.target, detail: outcome.detail.slice(0, 300) };
  const [recorded, syslog, reported] = await Promise.all([
    audit.append(record).then((result) => result.detail),
    sendSyslog(deps.executor, line, "user.warning", step).then(
      (result) => (result.timedOut ? `logger gave no answer within ${step} ms` : result.exitCode === 0 ? "sent" : `logger exit ${result.exitCode ?? result.signal ?? "?"}`),
      (error: unknown) => `not sent: ${(error as Error).message}`,
    ),
    // Best effort: hbd counts it when it runs; a missing hbd is the drop-in mode's normal case.
    askControl(stateDir, report, deps, step).then((answer) => (answer.ok ? "counted by hbd" : `not counted by hbd: ${answer.reason}`)),
  ]);
  return { record, recorded, syslog, reported };
}

/** Say it before acting: hbd should have owned this decision but cannot, or the check could not finish. */
export async function sayLoudly(request: VerifyRequest, lines: readonly string[], deps: RunDeps): Promise<void> {
  const step = request.config["hb.fence.step.timeout"];
  await Promise.all(lines.map((text) => sendSyslog(deps.executor, `${request.source} -c: ${text}.`, "user.crit", step).catch(() => undefined)));
}

// ---------------------------------------------------------------------------------------------
// Reading them back, for `hb fence last`.

export interface NoFenceSummary {
  /** Counted after the newest fence decision (or in the whole log when there is none). */
  readonly afterDecision: string | null;
  readonly count: number;
  readonly vetoed: number;
  readonly deferred: number;
  readonly byCheck: Readonly<Record<NoFenceCheck, number>>;
  readonly newest: NoFenceRecord | null;
}

/** The -c calls that did not fence since the newest decision in fence.jsonl; null when there is no log or it cannot be read. */
export async function readNoFences(stateDir: string, options: ReadFenceLogOptions = {}): Promise<NoFenceSummary | null> {
  const tail = await readFenceLogTail(stateDir, options).catch(() => null);
  return tail === null ? null : summarizeNoFences(tail.text);
}

/** The same, from the text of fence.jsonl: lines that are not vetoes, deferrals or decisions are skipped. */
export function summarizeNoFences(text: string): NoFenceSummary {
  let afterDecision: string | null = null;
  let lines: NoFenceRecord[] = [];
  for (const raw of text.split("\n")) {
    if (raw.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      continue;
    }
    if (!isObject(value)) continue;
    if (value.kind === "decision") {
      afterDecision = typeof value.id === "string" ? value.id : null;
      lines = [];
    } else if ((value.kind === "veto" || value.kind === "deferral") && typeof value.check === "string") {
      lines.push(value as unknown as NoFenceRecord);
    }
  }
  const byCheck: Record<NoFenceCheck, number> = { "drbd-quorum": 0, storage: 0, hbd: 0 };
  for (const line of lines) if (Object.hasOwn(byCheck, line.check)) byCheck[line.check]++;
  const vetoed = lines.filter((line) => line.kind === "veto").length;
  return { afterDecision, count: lines.length, vetoed, deferred: lines.length - vetoed, byCheck, newest: lines.at(-1) ?? null };
}

/** In words, for `hb fence last`; empty when no -c was vetoed or deferred. */
export function describeNoFences(summary: NoFenceSummary | null): string {
  if (summary === null || summary.count === 0) return "";
  const checks = (Object.entries(summary.byCheck) as [NoFenceCheck, number][])
    .filter(([check, count]) => count > 0 && check !== "hbd")
    .map(([check, count]) => `${check} ${count}`);
  const parts = [
    ...(summary.vetoed > 0 ? [`${summary.vetoed} vetoed (${checks.join(", ")})`] : []),
    ...(summary.deferred > 0 ? [`${summary.deferred} deferred to hbd`] : []),
  ];
  const calls = `${summary.count} -c call${summary.count === 1 ? "" : "s"} of the agent did not fence: ${parts.join(", ")}.`;
  const lines = [summary.afterDecision === null ? calls : `Since then, ${calls}`];
  const newest = summary.newest;
  // A line of the log as read: any field may be missing or odd, and none may forge a line of its own.
  const field = (value: unknown) => (typeof value === "string" && value !== "" ? printable(value) : "?");
  if (newest !== null) lines.push(`  newest: ${field(newest.wallTime)} ${field(newest.source)} (${newest.kind === "veto" ? "vetoed" : "deferred"}): ${field(newest.detail)}`);
  return `${lines.join("\n")}\n`;
}
