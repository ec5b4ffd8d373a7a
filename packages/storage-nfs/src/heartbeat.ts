/** What upstream writes and reads: decimal epoch seconds and a newline (`date +%s`). */
export function formatHeartbeat(epochSeconds: number): string {
  if (!Number.isSafeInteger(epochSeconds) || epochSeconds < 0) throw new RangeError(`not an epoch second: ${epochSeconds}`);
  return `${epochSeconds}\n`;
}

export type ParsedHeartbeat =
  | { readonly kind: "timestamp"; readonly epochSeconds: number }
  | { readonly kind: "empty" }
  | { readonly kind: "not-a-timestamp"; readonly text: string };

/**
 * Content of a heartbeat file. Blanks around the number are what `$(cat …)` would drop; more than
 * 12 digits is not an epoch second (as kvmsmpheartbeat.sh decides). Leading zeros are decimal.
 */
export function parseHeartbeat(text: string): ParsedHeartbeat {
  const trimmed = text.trim();
  if (trimmed === "") return { kind: "empty" };
  if (!/^\d{1,12}$/.test(trimmed)) return { kind: "not-a-timestamp", text: trimmed.length > 40 ? `${trimmed.slice(0, 40)}…` : trimmed };
  return { kind: "timestamp", epochSeconds: Number(trimmed) };
}

/** What a read of `hb-<host>` gave, before any judgement. */
export type HeartbeatRead =
  | { readonly kind: "content"; readonly text: string }
  | { readonly kind: "missing" }
  | { readonly kind: "unreadable"; readonly message: string }
  | { readonly kind: "timeout"; readonly afterMs: number };

export type NeighbourReason = "fresh" | "stale" | "missing" | "empty" | "not-a-timestamp" | "unreadable" | "timeout";

export interface NeighbourVerdict {
  /**
   * dead: a readable timestamp older than the maximum, the only evidence a reader has.
   * undecided: this reader cannot judge (no file, an empty or garbage one, its own I/O error or
   * deadline); never DEAD (DESIGN rule 10).
   */
  readonly verdict: "alive" | "dead" | "undecided";
  readonly reason: NeighbourReason;
  /** now − heartbeat, whole seconds; negative when the writer's clock is ahead. */
  readonly ageSeconds: number | null;
  readonly heartbeatEpochSeconds: number | null;
  readonly maxAgeSeconds: number;
  /** The error of an unreadable file, or the start of content that is not a timestamp. */
  readonly detail: string | null;
  /** One line for people. */
  readonly message: string;
}

/**
 * The neighbour's judgement of one heartbeat file. DEAD only when it holds a timestamp whose age
 * is strictly greater than the maximum (upstream's `-gt`), the full age, not age mod 256. A
 * missing, empty, non-numeric or unreadable file, or a read that ran into its deadline, is no
 * evidence: undecided. A wrong DEAD starts a live host's VMs a second time elsewhere; a wrong
 * ALIVE only delays HA. (An upstream writer killed between its truncate and its write leaves an
 * empty file behind.)
 */
export function judgeHeartbeat(read: HeartbeatRead, options: { readonly nowEpochSeconds: number; readonly maxAgeSeconds: number }): NeighbourVerdict {
  const base = { maxAgeSeconds: options.maxAgeSeconds, ageSeconds: null, heartbeatEpochSeconds: null, detail: null, verdict: "undecided" } as const;
  switch (read.kind) {
    case "missing":
      return { ...base, reason: "missing", message: "the heartbeat file does not exist" };
    case "unreadable":
      return { ...base, reason: "unreadable", detail: read.message, message: `the heartbeat file cannot be read (${read.message})` };
    case "timeout":
      return { ...base, reason: "timeout", message: `the heartbeat file could not be read within ${read.afterMs} ms` };
    case "content":
      break;
  }
  const parsed = parseHeartbeat(read.text);
  if (parsed.kind === "empty") return { ...base, reason: "empty", message: "the heartbeat file is empty" };
  if (parsed.kind === "not-a-timestamp") {
    return { ...base, reason: "not-a-timestamp", detail: parsed.text, message: `the heartbeat file does not hold epoch seconds (${JSON.stringify(parsed.text)})` };
  }
  const ageSeconds = options.nowEpochSeconds - parsed.epochSeconds;
  const stale = ageSeconds > options.maxAgeSeconds;
  return {
    ...base,
    ageSeconds,
    heartbeatEpochSeconds: parsed.epochSeconds,
    verdict: stale ? "dead" : "alive",
    reason: stale ? "stale" : "fresh",
    message: stale
      ? `last write ${ageSeconds} s ago, more than the maximum of ${options.maxAgeSeconds} s`
      : ageSeconds < 0
        ? `written ${-ageSeconds} s in the future: the writer's clock is ahead of this host's`
        : `last write ${ageSeconds} s ago (maximum ${options.maxAgeSeconds} s)`,
  };
}

/** hb's richer record `hbx-<host>.json`, as far as a reader relies on it. */
export interface HeartbeatRecord {
  readonly seq: number;
  readonly bootId?: string;
  /** Writer's wall clock at the write, epoch milliseconds. */
  readonly writtenAtMs?: number;
  readonly frequencyMs?: number;
  readonly timeoutMs?: number;
  readonly maxAgeSeconds?: number;
  readonly state?: string;
  readonly maintenance?: boolean;
  readonly [field: string]: unknown;
}

/** A record as read from storage; null when absent or not hb's format. */
export function parseRecord(text: string | null | undefined): HeartbeatRecord | null {
  if (text === null || text === undefined) return null;
  try {
    const value = JSON.parse(text) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    const seq = (value as { seq?: unknown }).seq;
    return typeof seq === "number" && Number.isSafeInteger(seq) ? (value as HeartbeatRecord) : null;
  } catch {
    return null;
  }
}

/**
 * Judge progress by change observed, never by comparing the writer's clock with this host's (two
 * hosts' clocks differ and jump): between two reads of the same host's record, a new sequence or a
 * new boot means the writer is working.
 */
export function recordProgress(previous: HeartbeatRecord | null, current: HeartbeatRecord | null): "advanced" | "restarted" | "stalled" | "unknown" {
  if (previous === null || current === null) return "unknown";
  if (previous.bootId !== current.bootId) return "restarted";
  return current.seq !== previous.seq ? "advanced" : "stalled";
}
