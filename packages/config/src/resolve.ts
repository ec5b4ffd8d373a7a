import { statusListenProblem } from "./listen.js";
import { parseDeclaredPools } from "./pools.js";
import type { PropertiesDocument } from "./properties.js";
import { PROPERTY_KEYS, PROPERTY_SPECS, isPropertyKey, type HeartbeatConfig, type PropertyKey, type PropertySpec } from "./schema.js";

/**
 * One value that was not taken as written, or that the agent reads differently. `unusable`: no
 * part of hb can use it (past its ceiling, a control character); `hb config set` refuses it even
 * with --force.
 */
export type ProblemKind = "invalid" | "unusable" | "empty" | "duplicate" | "agent-difference" | "unknown-key";

export interface ConfigProblem {
  readonly kind: ProblemKind;
  readonly key: string;
  /** 1-based line of the occurrence that counts. */
  readonly line: number;
  /** The raw value as java.util.Properties reads it. */
  readonly value: string;
  readonly message: string;
  /** The value hb uses instead (the default, or the value read leniently); null when none. */
  readonly used: unknown;
}

export type ValueSource = { readonly kind: "file"; readonly line: number } | { readonly kind: "default" };

export interface ResolvedConfig {
  readonly values: HeartbeatConfig;
  readonly sources: { readonly [K in PropertyKey]: ValueSource };
  readonly problems: readonly ConfigProblem[];
}

// Keys in hb's namespaces that hb does not know are probably typos of keys it does.
const OWN_PREFIXES = ["hb.", "kvm.heartbeat."];
// Keys of those namespaces that belong to someone else, with what hb does with them (none today).
const KNOWN_ELSEWHERE: Record<string, string> = {};

/**
 * Effective heartbeat settings of a properties document (or of none: all defaults).
 * Never throws for bad values: each becomes a problem and the default is used, the fallback
 * CloudStack's own converters apply (for the fence action: hard-reboot).
 */
export function resolveConfig(doc: PropertiesDocument | null): ResolvedConfig {
  const values: Record<string, unknown> = {};
  const sources: Record<string, ValueSource> = {};
  const problems: ConfigProblem[] = [];

  for (const key of PROPERTY_KEYS) {
    const spec: PropertySpec<unknown> = PROPERTY_SPECS[key];
    const entry = doc?.get(key);
    values[key] = spec.defaultValue;
    sources[key] = { kind: "default" };
    if (entry === undefined) continue;

    const problem = (kind: ProblemKind, message: string, used: unknown) =>
      problems.push({ kind, key, line: entry.line, value: entry.value, message, used });
    if (entry.occurrences > 1) {
      problem("duplicate", `set ${entry.occurrences} times; line ${entry.line} counts (the last one, as in java.util.Properties)`, undefined);
    }
    // The agent treats a blank value as absent (StringUtils.isBlank → default).
    if (entry.value.trim() === "") {
      problem("empty", `empty; using ${describeDefault(spec.defaultValue)}`, spec.defaultValue);
      continue;
    }
    const unusable = spec.unusable?.(entry.value);
    if (unusable !== undefined) {
      problem("unusable", `${unusable}; using ${describeDefault(spec.defaultValue)}`, spec.defaultValue);
      continue;
    }
    const parsed = spec.schema.safeParse(entry.value);
    if (!parsed.success) {
      const reason = parsed.error.issues[0]?.message ?? "invalid";
      problem("invalid", `${reason}; using ${describeDefault(spec.defaultValue)}`, spec.defaultValue);
      continue;
    }
    values[key] = parsed.data;
    sources[key] = { kind: "file", line: entry.line };
    const difference = spec.agentDifference?.(entry.value);
    if (difference !== undefined) problem("agent-difference", `${difference}; hb reads ${String(parsed.data)}`, parsed.data);
  }

  // hbd refuses a non-loopback status address without leave: the loopback default is used instead.
  const listen = values["hb.status.listen"] as string;
  const listenProblem = statusListenProblem(listen, values["hb.status.allow.remote"] as boolean);
  const listenEntry = doc?.get("hb.status.listen");
  if (listenProblem !== undefined && listenEntry !== undefined) {
    const fallback = PROPERTY_SPECS["hb.status.listen"].defaultValue;
    problems.push({ kind: "invalid", key: "hb.status.listen", line: listenEntry.line, value: listenEntry.value, message: `${listenProblem}; using ${describeDefault(fallback)}`, used: fallback });
    values["hb.status.listen"] = fallback;
    sources["hb.status.listen"] = { kind: "default" };
  }

  // hbd skips each hb.pools entry it cannot read and monitors the others.
  const poolsEntry = doc?.get("hb.pools");
  if (poolsEntry !== undefined && sources["hb.pools"]?.kind === "file") {
    const declared = parseDeclaredPools(values["hb.pools"] as string);
    const kept = declared.pools.map((pool) => pool.id).join(", ") || "none";
    for (const skipped of declared.problems) {
      problems.push({ kind: "invalid", key: "hb.pools", line: poolsEntry.line, value: poolsEntry.value, message: `${skipped.entry}: ${skipped.message}; hbd skips it (pools kept: ${kept})`, used: values["hb.pools"] });
    }
  }

  for (const entry of doc?.entries.values() ?? []) {
    if (isPropertyKey(entry.key) || !OWN_PREFIXES.some((prefix) => entry.key.startsWith(prefix))) continue;
    const message = KNOWN_ELSEWHERE[entry.key] ?? "unknown heartbeat setting (a typo?); ignored";
    problems.push({ kind: "unknown-key", key: entry.key, line: entry.line, value: entry.value, message, used: null });
  }

  problems.sort((a, b) => a.line - b.line);
  return { values: values as HeartbeatConfig, sources: sources as ResolvedConfig["sources"], problems };
}

function describeDefault(value: unknown): string {
  return value === null ? "no value" : `the default ${String(value)}`;
}
