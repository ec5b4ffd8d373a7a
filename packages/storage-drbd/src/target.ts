import { isHbError } from "@hb/errors";
import type { AttemptContext, AttemptOutcome, Evidence, Executor, HeartbeatTarget } from "@hb/core";
import { readHostHealth } from "./drbdsetup.js";
import type { HostVerdict } from "./verdict.js";

export interface DrbdTargetOptions {
  /** The target's id in the loop (a pool uuid); default "drbd". */
  readonly id?: string;
  readonly executor: Executor;
  /** `hb.drbd.drbdsetup`. */
  readonly drbdsetup: string;
  /** This host's node name, shown in the evidence. */
  readonly nodeName?: string;
}

/**
 * The DRBD heartbeat: each attempt reads this host's DRBD state (`drbdsetup events2 --now
 * --statistics`) under the attempt's deadline. healthy and degraded succeed (degraded as an
 * impairment, so the core shows `degraded` and never fences for it); lost fails with
 * `no-quorum` (a Primary without quorum) or `error` (no accessible data). drbdsetup failing,
 * hanging or printing something unreadable is a failed attempt: the core's budget decides.
 */
export class DrbdHeartbeatTarget implements HeartbeatTarget {
  readonly id: string;

  constructor(private readonly options: DrbdTargetOptions) {
    this.id = options.id ?? "drbd";
  }

  async attempt(context: AttemptContext): Promise<AttemptOutcome> {
    let host: HostVerdict;
    try {
      host = await readHostHealth({ executor: this.options.executor, drbdsetup: this.options.drbdsetup, deadlineMs: context.deadlineMs, signal: context.signal });
    } catch (error) {
      if (isHbError(error)) return { ok: false, reason: "error", message: error.message, evidence: { error: error.code } };
      throw error;
    }
    return outcomeOf(host, this.options.nodeName);
  }
}

/** Flat evidence for the loop's records: `<resource>.<field>[/volume][@peer]` → value. */
export function evidenceOf(host: HostVerdict, nodeName?: string): Evidence {
  const evidence: Record<string, string | number | boolean> = {
    verdict: host.verdict,
    source: host.source,
    resources: host.resources.length,
    primaries: host.resources.filter((resource) => resource.role === "Primary").length,
  };
  if (nodeName !== undefined) evidence.node = nodeName;
  for (const resource of host.resources) {
    evidence[`${resource.name}.verdict`] = resource.verdict;
    evidence[`${resource.name}.role`] = resource.role;
    if (resource.mayPromote !== undefined) evidence[`${resource.name}.may_promote`] = resource.mayPromote;
    if (resource.promotionScore !== undefined) evidence[`${resource.name}.promotion_score`] = resource.promotionScore;
    for (const fact of resource.evidence) {
      if (fact.verdict === "healthy") continue;
      const key = `${resource.name}.${fact.field}${fact.volume === undefined ? "" : `/${fact.volume}`}${fact.peer === undefined ? "" : `@${fact.peer}`}`;
      evidence[key] = fact.value;
    }
  }
  return evidence;
}

function outcomeOf(host: HostVerdict, nodeName: string | undefined): AttemptOutcome {
  const evidence = evidenceOf(host, nodeName);
  switch (host.verdict) {
    case "healthy":
      return { ok: true, evidence };
    case "degraded":
      return { ok: true, impairment: `DRBD degraded: ${host.summary}`, evidence };
    case "lost":
      return { ok: false, reason: host.quorumLost ? "no-quorum" : "error", message: `DRBD lost: ${host.summary}`, evidence };
  }
}
