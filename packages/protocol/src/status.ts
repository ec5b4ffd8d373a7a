// The status document: `/status` on hbd's endpoint and the answer to `{"op":"status"}` on its
// control socket. Each field is declared with the type hbd sends (the schema's input type, which
// hbd returns) and how a reader takes it when it is missing or odd (the output type): a document
// from an older or newer hbd, or from a stranger on the status port, never crashes a reader.
import * as z from "zod/mini";
import { VETO_CHECKS, VETO_OUTCOMES } from "./checks.js";
import { count, flag, lenient, nullableCount, nullableText, text } from "./lenient.js";

/** A target's newest state change. */
export const stateChangeSchema = z.object({ atMs: count, target: text, from: nullableText, to: text, reason: text });

/** Latency of the successful attempts hbd keeps, in ms. */
export const latencySchema = z.object({ count, p50: nullableCount, p99: nullableCount, max: nullableCount });

/** One pool as hbd watches it. */
export const targetStatusSchema = z.object({
  id: text,
  /** nfs, linstor, or unknown. */
  kind: text,
  /** NFS pools only. */
  mountPoint: z.catch(z.optional(z.string()), undefined),
  /** healthy, degraded, slow, failing, no-quorum, inconclusive or dead; null before the pool's first attempt. */
  state: nullableText,
  /** Had a good heartbeat since hbd started: only an armed target can be fenced for. */
  armed: lenient(z.boolean(), false),
  lastGoodAt: nullableText,
  lastGoodAgeMs: nullableCount,
  /** Failed tries since the last success; inconclusive attempts are not failures. */
  consecutiveFailures: count,
  /** hb's own faults since start (never failed tries). */
  inconclusiveAttempts: count,
  latencyMs: lenient(latencySchema, null),
  decisionAtTheLatest: nullableText,
  lastChange: lenient(z.nullable(stateChangeSchema), null),
});

/** A decision of hbd's loop since it started. */
export const decisionSchema = z.object({ at: text, target: text, action: text, isFence: flag, mode: text, reason: text });

/** The newest -c call that did not fence. */
export const vetoRecordSchema = z.object({
  at: text,
  outcome: lenient(z.enum(VETO_OUTCOMES), null),
  check: lenient(z.enum(VETO_CHECKS), null),
  source: text,
  target: text,
  detail: text,
});

/** -c calls that did not fence, counted since hbd started; also the answer to a fence-veto report. */
export const vetoSummarySchema = z.object({
  total: count,
  vetoed: count,
  deferred: count,
  byCheck: lenient(z.record(z.enum(VETO_CHECKS), z.number()), null),
  last: lenient(z.nullable(vetoRecordSchema), null),
});

/** The read-only TCP endpoint: bound or not, and why not. */
export const statusEndpointSchema = z.object({ listen: text, bound: flag, error: nullableText });

/** A reload that was refused: since when, and why. */
export const staleConfigSchema = z.object({ since: text, reason: text });

/** The configuration hbd runs on. */
export const configStateSchema = z.object({ path: text, loadedAt: text, stale: lenient(z.nullable(staleConfigSchema), null) });

/** libvirt pool discovery: off (no virsh, or none wired), ok, or failing since a time. */
export const DISCOVERY_STATES = ["off", "ok", "failing"] as const;
export const discoverySchema = z.object({ state: lenient(z.enum(DISCOVERY_STATES), null), since: nullableText, error: nullableText, failures: count });

export const watchdogSchema = z.object({ mode: text, armed: flag, timeoutSeconds: nullableCount });

/** Fencing suspended until a time. */
export const maintenanceSchema = z.object({ until: text });

export const statusDocumentSchema = z.object({
  version: text,
  /** Exactly what /healthz says. Missing (an hbd too old to say) reads as null: not healthy. */
  healthy: flag,
  healthProblems: lenient(z.array(z.string()), []),
  statusEndpoint: lenient(statusEndpointSchema, null),
  config: lenient(configStateSchema, null),
  discovery: lenient(discoverySchema, null),
  startedAt: text,
  action: text,
  fences: lenient(z.boolean(), false),
  dryRun: lenient(z.boolean(), false),
  /** null when off; a value that is neither reads as "unreadable", a missing one as off. */
  maintenance: lenient(z.nullable(maintenanceSchema), (value): "unreadable" | null => (value === undefined ? null : "unreadable")),
  watchdog: lenient(watchdogSchema, null),
  eventLoopLagP99Ms: count,
  stuckChildren: count,
  /** Entries that are not objects read as null. */
  decisions: lenient(z.array(lenient(decisionSchema, null)), []),
  vetoes: lenient(vetoSummarySchema, null),
  /** null when it is not a list; entries that are not objects read as null. */
  targets: lenient(z.array(lenient(targetStatusSchema, null)), null),
});

/** The status document as hbd sends it. */
export type StatusDocument = z.input<typeof statusDocumentSchema>;
export type TargetStatus = z.input<typeof targetStatusSchema>;
export type VetoSummary = z.input<typeof vetoSummarySchema>;
export type StatusEndpointState = z.input<typeof statusEndpointSchema>;
export type ConfigState = z.input<typeof configStateSchema>;
export type DiscoveryState = z.input<typeof discoverySchema>;

/** The status document as a reader has it: every field present, odd values as their fallbacks. */
export type StatusReading = z.output<typeof statusDocumentSchema>;
export type TargetReading = z.output<typeof targetStatusSchema>;

/** Any value read as a status document: one that is not an object reads as an empty one. */
export function readStatus(value: unknown): StatusReading {
  const parsed = z.safeParse(statusDocumentSchema, value);
  return parsed.success ? parsed.data : z.parse(statusDocumentSchema, {});
}

/** A reading whose pools all have an id and a kind. */
export interface HbdStatus extends StatusReading {
  readonly version: string;
  readonly targets: (TargetReading & { readonly id: string; readonly kind: string })[];
}

/**
 * hbd's status document, or null when the value is not one (another program answering): it
 * must be an object with a version and a list of pools, each an object with an id and a kind.
 */
export function parseHbdStatus(value: unknown): HbdStatus | null {
  const parsed = z.safeParse(statusDocumentSchema, value);
  if (!parsed.success) return null;
  const { version, targets } = parsed.data;
  if (version === null || targets === null) return null;
  if (!targets.every((target) => target !== null && target.id !== null && target.kind !== null)) return null;
  return parsed.data as HbdStatus;
}
