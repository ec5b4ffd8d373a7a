// hb.fence.verify: what a -c entry point checks before it acts. In order: hbd's verdict when hbd
// watches this storage (the one-owner rule), then the configured check of the storage itself
// (DRBD's quorum, or one more NFS write). Every step is bounded by the verification's deadline,
// which the timing model derives so that the action still starts before the agent kills -c.
import { formatSeconds, hostIdOf, verifySettings, type FenceVerifyMode, type HeartbeatConfig } from "@hb/config";
import { ipv4AddressOf } from "@hb/core/adapters";
import { recordNoFence as recordInFenceLog, sendSyslog, type NoFenceEvidence, type NoFenceOutcome } from "@hb/fence";
import type { VetoCheck } from "@hb/protocol";
import { checkDrbdVeto, drbdSettings } from "@hb/storage-drbd";
import { checkHeartbeatWrite, checkSmpHeartbeatWrite, nfsWriterSettings } from "@hb/storage-nfs";
import type { RunDeps } from "../context.js";
import { askControl, parseDaemonStatus } from "./hbd-client.js";
import { describeMarkers, hbdOwned, readModeMarkers } from "./mode-markers.js";
import { describeNoAnswer, judgeDaemon, type FenceStorage } from "./one-owner.js";

export type VerifyOutcome =
  | { readonly kind: "no-fence"; readonly outcome: "vetoed" | "deferred"; readonly check: VetoCheck; readonly detail: string; readonly evidence: NoFenceEvidence }
  /** Act as configured; `note` goes into the fence record's reason, `loud` is said in syslog first. */
  | { readonly kind: "act"; readonly notes: readonly string[]; readonly loud: readonly string[]; readonly evidence: NoFenceEvidence };

// ---------------------------------------------------------------------------------------------
// The verification of one -c call.

export interface VerifyRequest {
  /** The script the agent ran (kvmheartbeat.sh, kvmspheartbeat.sh, kvmsmpheartbeat.sh), or kvmha-fence.sh's tag. */
  readonly source: string;
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
  const settings = verifySettings(config);
  const { timing } = settings;
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
  const answer = await askControl(settings.stateDir, { op: "status" }, deps, queryMs);
  const markers = await readModeMarkers(answer.pidFile, deps.clock, Math.min(timing.daemonQueryMs, remaining()));
  let hbdDecided = false;
  const view = answer.ok ? parseDaemonStatus(answer.result, answer.socket) : null;
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
    const silent = describeNoAnswer(answer);
    // A missing socket is the drop-in mode's normal case; anything else is said, loudly.
    if (silent.loud || hbdOwned(markers)) {
      const why = hbdOwned(markers) ? `${silent.text}; ${describeMarkers(markers)}` : silent.text;
      notes.push(why);
      loud.push(`${why}: deciding here, as configured (hb.fence.verify=${timing.mode}, action ${settings.fenceAction})`);
      evidence.hbd = { answered: false, failure: answer.ok ? "not-hbd" : answer.failure, reason: silent.reason, markers };
    }
  }
  if (hbdDecided) return { kind: "act", notes, loud, evidence };

  const mode: FenceVerifyMode = timing.mode;
  if (mode === "none") return { kind: "act", notes, loud, evidence };
  if (request.storage.kind === "shared-block") {
    const drbd = await checkDrbdVeto({ executor: deps.executor, clock: deps.clock, drbdsetup: drbdSettings(config).drbdsetup, deadlineMs: remaining() });
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
  // NFS and SharedMountPoint: drbd-quorum never vetoes here; storage tries one more write.
  if (mode === "storage") {
    const write = await (request.storage.kind === "smp" ? checkSmpHeartbeatWrite : checkHeartbeatWrite)({
      executor: deps.executor,
      clock: deps.clock,
      mountPoint: request.storage.mountPoint,
      hostId: request.storage.mountPoint === undefined ? undefined : hostIdOf(config, ipv4AddressOf),
      mountsFile: nfsWriterSettings(config).mountsFile,
      deadlineMs: remaining(),
    });
    if (write.ok) return { kind: "no-fence", outcome: "vetoed", check: "storage", detail: write.detail, evidence: { ...evidence, write: write.evidence } };
    notes.push(write.note);
  }
  return { kind: "act", notes, loud, evidence };
}

/**
 * Record that this -c did not fence: fence.jsonl, syslog (tag heartbeat), and hbd's counter.
 * Run together, each bounded by hb.fence.step.timeout; none of them can hold the exit.
 */
export async function recordNoFence(request: VerifyRequest, outcome: Extract<VerifyOutcome, { kind: "no-fence" }>, deps: RunDeps): Promise<NoFenceOutcome> {
  const { config } = request;
  const { stateDir, stepTimeoutMs: step, fenceAction } = verifySettings(config);
  const { outcome: how, check, detail, evidence } = outcome;
  return recordInFenceLog(
    { source: request.source, target: request.target, outcome: how, check, detail, evidence, action: fenceAction },
    {
      executor: deps.executor,
      clock: deps.clock,
      stateDir,
      stepMs: step,
      version: deps.version,
      // Best effort: hbd counts it when it runs; a missing hbd is the drop-in mode's normal case.
      report: (report) => askControl(stateDir, report, deps, step).then((answer) => (answer.ok ? "counted by hbd" : `not counted by hbd: ${answer.reason}`)),
    },
  );
}

/** Say it before acting: hbd should have owned this decision but cannot, or the check could not finish. */
export async function sayLoudly(request: VerifyRequest, lines: readonly string[], deps: RunDeps): Promise<void> {
  const step = verifySettings(request.config).stepTimeoutMs;
  await Promise.all(lines.map((text) => sendSyslog(deps.executor, `${request.source} -c: ${text}.`, "user.crit", step).catch(() => undefined)));
}
