import { formatSeconds, HbError } from "@hb/config";
import { open } from "node:fs/promises";
import type { FenceFollowUp, FenceRecord } from "./audit.js";
import { errorText } from "./deadline.js";
import { readBootId } from "@hb/core/adapters";
import { auditLogPath } from "./settings.js";

/** The newest decision in fence.jsonl, with the follow-up lines of the same decision. */
export interface LastFence {
  readonly path: string;
  readonly record: FenceRecord;
  readonly followUps: readonly FenceFollowUp[];
  /** The boot id now; null when unknown. */
  readonly bootId: string | null;
  /** The record is from this boot (no reboot since); null when either boot id is unknown. */
  readonly thisBoot: boolean | null;
  /** Lines that are not JSON (a line torn by the reset itself). */
  readonly skippedLines: number;
}

/** fence.jsonl exists but cannot be read. */
export class FenceLogError extends HbError {
  constructor(
    readonly path: string,
    message: string,
    cause: unknown,
  ) {
    super("FENCE_LOG", message, { cause });
  }
}

// Only the end of the log matters; years of records must not be read at every boot.
const TAIL_BYTES = 1 << 20;

/** Reads the newest decision; null when there is none (no file, or no decision line). */
export async function readLastFence(stateDir: string, options: { readonly bootIdFile?: string } = {}): Promise<LastFence | null> {
  const path = auditLogPath(stateDir);
  let text: string;
  try {
    text = await readTail(path, TAIL_BYTES);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new FenceLogError(path, `cannot read ${path}: ${errorText(error)}`, error);
  }
  const lines = text.split("\n").filter((line) => line.trim() !== "");
  const parsed: (FenceRecord | FenceFollowUp)[] = [];
  let skippedLines = 0;
  for (const line of lines) {
    try {
      const value = JSON.parse(line) as FenceRecord | FenceFollowUp;
      if (typeof value === "object" && value !== null && typeof value.kind === "string" && typeof value.id === "string") parsed.push(value);
      else skippedLines++;
    } catch {
      skippedLines++;
    }
  }
  const index = parsed.findLastIndex((line) => line.kind === "decision");
  if (index < 0) return null;
  const record = parsed[index] as FenceRecord;
  const followUps = parsed.slice(index + 1).filter((line): line is FenceFollowUp => line.kind !== "decision" && line.id === record.id);
  const bootId = readBootId(options.bootIdFile);
  const thisBoot = bootId === null || record.bootId === null ? null : bootId === record.bootId;
  return { path, record, followUps, bootId, thisBoot, skippedLines };
}

/** The last `bytes` of a file, from its first whole line (fence.jsonl grows for ever). */
export async function readTail(path: string, bytes: number): Promise<string> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    const start = Math.max(0, size - bytes);
    const buffer = Buffer.alloc(size - start);
    await handle.read(buffer, 0, buffer.length, start);
    const text = buffer.toString("utf8");
    // A cut at the start of the window leaves a partial first line.
    return start === 0 ? text : text.slice(text.indexOf("\n") + 1);
  } finally {
    await handle.close();
  }
}

/** The last decision in words, for `hb fence last` and hbd's start-up. */
export function describeLastFence(last: LastFence): string {
  const { record } = last;
  const where = `${record.target}, reason ${record.reason}`;
  const who = `${record.action} by ${record.source} on ${record.host} at ${record.wallTime}`;
  const lines: string[] = [];
  if (record.mode === "dry-run") {
    lines.push(`The last decision was a dry run (nothing was done): ${where} (${who}).`);
  } else if (record.mode === "suppressed") {
    lines.push(`The last decision was not acted on (${record.suppressedBy ?? "suppressed"}): ${where} (${who}).`);
  } else if (!record.fences) {
    lines.push(`The last decision was ${record.action}, which is NOT a fence (the VMs kept running): ${where} (${who}).`);
  } else if (last.thisBoot === false) {
    lines.push(`The last reboot was hb's: ${where} (${who}, boot ${record.bootId ?? "?"}).`);
  } else if (last.thisBoot === true) {
    lines.push(`hb decided to fence during this boot, and the host has not rebooted since: ${where} (${who}).`);
  } else {
    lines.push(`The last fence was hb's ${record.action}: ${where} (${who}); the boot id is unknown, so whether it caused the last reboot cannot be told.`);
  }
  for (const followUp of last.followUps) lines.push(`  then (${followUp.kind}): ${followUp.detail}`);
  if (record.history.length > 0) {
    lines.push("  state history:");
    for (const change of record.history.slice(-6)) lines.push(`    ${formatSeconds(change.atMs)} ${change.from ?? "start"} → ${change.to}: ${change.reason}`);
  }
  if (record.lastAttempts.length > 0) {
    const latencies = record.lastAttempts.map((attempt) => `${attempt.result} ${formatSeconds(attempt.latencyMs)}`);
    lines.push(`  last attempts: ${latencies.join(", ")}`);
  }
  if (last.skippedLines > 0) lines.push(`  (${last.skippedLines} unreadable line(s) in ${last.path} skipped)`);
  return `${lines.join("\n")}\n`;
}
