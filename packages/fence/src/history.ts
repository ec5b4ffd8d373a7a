import { formatSeconds, HbError } from "@hb/config";
import { printable, type Executor } from "@hb/core";
import type * as NodeFs from "node:fs";
import * as fs from "node:fs";
import type { FenceFollowUp } from "./audit.js";
import { readBootId } from "@hb/core/adapters";
import { auditLogPath } from "./settings.js";

/** A decision line of fence.jsonl as read: any field may be missing or odd (another version, a hand edit). */
export type FenceRecordLine = { readonly kind: "decision"; readonly id: string } & { readonly [field: string]: unknown };

/** The newest decision in fence.jsonl, with the follow-up lines of the same decision. */
export interface LastFence {
  readonly path: string;
  /** The decision exactly as written (JSON output keeps it whole). */
  readonly record: FenceRecordLine;
  readonly followUps: readonly FenceFollowUp[];
  /** The boot id now; null when unknown. */
  readonly bootId: string | null;
  /** The record is from this boot (no reboot since); null when either boot id is unknown. */
  readonly thisBoot: boolean | null;
  /** Lines that are not JSON (a line torn by the reset itself). */
  readonly skippedLines: number;
}

/** fence.jsonl exists but cannot be read: refused (not a regular file, a link), failing, or hanging. */
export class FenceLogError extends HbError {
  constructor(
    readonly path: string,
    message: string,
    cause?: unknown,
  ) {
    super("FENCE_LOG", message, cause === undefined ? {} : { cause });
  }
}

/**
 * The state folder, a file in it or hbd's control socket may be changed by someone other than
 * root (or the caller): what it says proves nothing (a forged record, a forged hbd), so it is not
 * read, asked or trusted.
 */
export class UntrustedStateError extends HbError {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super("STATE_UNTRUSTED", message);
  }
}

// Only the end of the log matters; years of records must not be read at every boot.
const TAIL_BYTES = 1 << 20;

export interface ReadFenceLogOptions {
  /**
   * Reads in a child process bounded by deadlineMs (DESIGN rule 1): the state folder may hang,
   * and a read blocked in the kernel cannot be interrupted in this process. Without one the
   * read runs here (a caller that has no executor, such as a test of the parser).
   */
  readonly executor?: Executor;
  readonly deadlineMs?: number;
  readonly tailBytes?: number;
}

/** The end of fence.jsonl, from its first whole line; null when there is no log (no folder or no file). */
export interface FenceLogTail {
  readonly path: string;
  readonly text: string;
}

interface TailRequest {
  readonly folder: string;
  readonly path: string;
  readonly bytes: number;
  readonly euid: number;
}

type TailReply =
  | { readonly ok: true; readonly text: string | null }
  | { readonly ok: false; readonly untrusted: boolean; readonly message: string };

/**
 * The read itself, serialized with Function#toString for the child: it may use only its
 * parameters and what it declares inside. The folder and the file must belong to root (or the
 * caller) and be writable by no one else, as for hbd's control socket: anyone else could forge
 * the record of the last fence. The file must be a regular one, checked before it is opened
 * (opening a FIFO or a device can block or act) and again on the descriptor; it is opened with
 * O_NOFOLLOW | O_NONBLOCK, so a link or FIFO swapped in between is refused too. Only the last
 * `bytes` are read: fence.jsonl grows for ever.
 */
function readTailOf(fs: typeof NodeFs, request: TailRequest): TailReply {
  const { constants } = fs;
  const code = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const why = (error: unknown) => (code(error) !== "" && !String((error as Error).message).includes(code(error)) ? `${code(error)}: ` : "") + String((error as Error | undefined)?.message ?? error);
  const owner = (uid: number) => (uid === 0 ? "root" : `uid ${uid}`);
  const trustedOwners = request.euid === 0 ? "root" : `root or uid ${request.euid}`;
  const kindOf = (info: NodeFs.Stats) =>
    info.isSymbolicLink() ? "a symbolic link (not followed)" : info.isFIFO() ? "a FIFO" : info.isCharacterDevice() || info.isBlockDevice() ? "a device" : info.isSocket() ? "a socket" : info.isDirectory() ? "a folder" : info.isFile() ? "a regular file" : "not a regular file";
  const untrusted = (path: string, info: NodeFs.Stats): string | null => {
    if (info.uid !== 0 && info.uid !== request.euid) return `${path} is owned by ${owner(info.uid)}, not ${trustedOwners}: its records could be forged`;
    if ((info.mode & 0o022) !== 0) return `${path} is writable by its group or others (mode 0${(info.mode & 0o777).toString(8)}): its records could be forged`;
    return null;
  };
  let folder: NodeFs.Stats;
  try {
    folder = fs.lstatSync(request.folder);
  } catch (error) {
    if (code(error) === "ENOENT") return { ok: true, text: null };
    return { ok: false, untrusted: false, message: `cannot read ${request.path}: ${why(error)}` };
  }
  if (!folder.isDirectory()) {
    return folder.isSymbolicLink()
      ? { ok: false, untrusted: true, message: `${request.folder} is a symbolic link, not a folder: not followed` }
      : { ok: false, untrusted: false, message: `cannot read ${request.path}: ${request.folder} is ${kindOf(folder)}, not a folder` };
  }
  const folderProblem = untrusted(request.folder, folder);
  if (folderProblem !== null) return { ok: false, untrusted: true, message: folderProblem };
  let info: NodeFs.Stats;
  try {
    info = fs.lstatSync(request.path);
  } catch (error) {
    if (code(error) === "ENOENT") return { ok: true, text: null };
    return { ok: false, untrusted: false, message: `cannot read ${request.path}: ${why(error)}` };
  }
  if (!info.isFile()) return { ok: false, untrusted: false, message: `cannot read ${request.path}: it is ${kindOf(info)}, not a regular file: refused` };
  let fd: number;
  try {
    fd = fs.openSync(request.path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    if (code(error) === "ENOENT") return { ok: true, text: null };
    if (code(error) === "ELOOP") return { ok: false, untrusted: false, message: `cannot read ${request.path}: it is a symbolic link (not followed): refused` };
    return { ok: false, untrusted: false, message: `cannot read ${request.path}: ${why(error)}` };
  }
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) return { ok: false, untrusted: false, message: `cannot read ${request.path}: it is ${kindOf(opened)}, not a regular file: refused` };
    const fileProblem = untrusted(request.path, opened);
    if (fileProblem !== null) return { ok: false, untrusted: true, message: fileProblem };
    const start = Math.max(0, opened.size - request.bytes);
    const buffer = Buffer.alloc(opened.size - start);
    let filled = 0;
    while (filled < buffer.length) {
      const got = fs.readSync(fd, buffer, filled, buffer.length - filled, start + filled);
      if (got === 0) break;
      filled += got;
    }
    const text = buffer.subarray(0, filled).toString("utf8");
    // A cut at the start of the window leaves a partial first line.
    return { ok: true, text: start === 0 ? text : text.slice(text.indexOf("\n") + 1) };
  } catch (error) {
    return { ok: false, untrusted: false, message: `cannot read ${request.path}: ${why(error)}` };
  } finally {
    fs.closeSync(fd);
  }
}

const TAIL_SOURCE = [
  '"use strict";',
  // What `ps` shows for a reader left in D state on a hung state folder.
  'process.title = "hb-fence-log-reader";',
  'const fs = require("node:fs");',
  "let reply;",
  `try { reply = (${readTailOf.toString()})(fs, JSON.parse(fs.readFileSync(0, "utf8"))); }`,
  "catch (error) { reply = { ok: false, untrusted: false, message: String(error && error.message || error) }; }",
  "process.stdout.write(JSON.stringify(reply));",
].join("\n");

function euid(): number {
  return process.geteuid?.() ?? 0;
}

/**
 * The end of `<stateDir>/fence.jsonl`; null when there is none. Throws FenceLogError when it
 * cannot be read (a FIFO, a link, a device, an I/O error, no answer within the deadline) and
 * UntrustedStateError when the folder or the file could have been written by someone else.
 */
export async function readFenceLogTail(stateDir: string, options: ReadFenceLogOptions = {}): Promise<FenceLogTail | null> {
  const path = auditLogPath(stateDir);
  const request: TailRequest = { folder: stateDir, path, bytes: options.tailBytes ?? TAIL_BYTES, euid: euid() };
  let reply: TailReply;
  if (options.executor === undefined) {
    // In this process, for callers that have no executor: bounded by nothing but safe otherwise.
    reply = readTailOf(fs, request);
  } else {
    const deadlineMs = options.deadlineMs ?? 2000;
    const result = await options.executor.run({
      file: process.execPath,
      args: ["--no-warnings", "-e", TAIL_SOURCE],
      input: JSON.stringify(request),
      deadlineMs,
      // The tail and its JSON escaping, with room to spare.
      maxOutputBytes: request.bytes * 8 + 4096,
    });
    if (result.timedOut) throw new FenceLogError(path, `cannot read ${path}: no answer within ${deadlineMs} ms (${stateDir} hangs)`);
    if (result.spawnError !== undefined) throw new FenceLogError(path, `cannot read ${path}: cannot start its reader (${result.spawnError})`);
    try {
      reply = JSON.parse(result.stdout) as TailReply;
    } catch {
      const detail = result.stderr.trim().split("\n").at(-1) ?? "";
      throw new FenceLogError(path, `cannot read ${path}: its reader exited with ${result.exitCode ?? result.signal ?? "?"}${detail === "" ? "" : `: ${detail}`}`);
    }
  }
  if (reply.ok) return reply.text === null ? null : { path, text: reply.text };
  if (reply.untrusted) throw new UntrustedStateError(path, reply.message);
  throw new FenceLogError(path, reply.message);
}

export interface ReadLastFenceOptions extends ReadFenceLogOptions {
  readonly bootIdFile?: string;
}

/** Reads the newest decision; null when there is none (no file, or no decision line). */
export async function readLastFence(stateDir: string, options: ReadLastFenceOptions = {}): Promise<LastFence | null> {
  const tail = await readFenceLogTail(stateDir, options);
  return tail === null ? null : parseLastFence(tail, options);
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null && !Array.isArray(value);

/** The newest decision in the text of fence.jsonl; lines that are not JSON objects with a kind and an id are skipped. */
export function parseLastFence(tail: FenceLogTail, options: { readonly bootIdFile?: string } = {}): LastFence | null {
  const lines = tail.text.split("\n").filter((line) => line.trim() !== "");
  const parsed: Record<string, unknown>[] = [];
  let skippedLines = 0;
  for (const line of lines) {
    try {
      const value: unknown = JSON.parse(line);
      if (isObject(value) && typeof value.kind === "string" && typeof value.id === "string") parsed.push(value);
      else skippedLines++;
    } catch {
      skippedLines++;
    }
  }
  const index = parsed.findLastIndex((line) => line.kind === "decision");
  if (index < 0) return null;
  const record = parsed[index] as FenceRecordLine;
  const followUps = parsed.slice(index + 1).filter((line) => line.kind !== "decision" && line.kind !== "veto" && line.kind !== "deferral" && line.id === record.id) as unknown as FenceFollowUp[];
  const bootId = readBootId(options.bootIdFile);
  const recordBoot = typeof record.bootId === "string" ? record.bootId : null;
  const thisBoot = bootId === null || recordBoot === null ? null : bootId === recordBoot;
  return { path: tail.path, record, followUps, bootId, thisBoot, skippedLines };
}

/** A field as terminal text: strings made printable, numbers shown, anything else the fallback. */
function word(value: unknown, fallback = "?"): string {
  if (typeof value === "string" && value !== "") return printable(value);
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return fallback;
}

const seconds = (value: unknown) => (typeof value === "number" && Number.isFinite(value) ? formatSeconds(value) : "?");
const listOf = (value: unknown): Record<string, unknown>[] => (Array.isArray(value) ? value.filter(isObject) : []);

/** The last decision in words, for `hb fence last` and hbd's start-up. Any field may be missing: what is there is said. */
export function describeLastFence(last: LastFence): string {
  const { record } = last;
  const action = word(record.action);
  const where = `${word(record.target)}, reason ${word(record.reason)}`;
  const who = `${action} by ${word(record.source)} on ${word(record.host)} at ${word(record.wallTime)}`;
  const lines: string[] = [];
  if (record.mode === "dry-run") {
    lines.push(`The last decision was a dry run (nothing was done): ${where} (${who}).`);
  } else if (record.mode === "suppressed") {
    lines.push(`The last decision was not acted on (${word(record.suppressedBy, "suppressed")}): ${where} (${who}).`);
  } else if (record.fences === false) {
    lines.push(`The last decision was ${action}, which is NOT a fence (the VMs kept running): ${where} (${who}).`);
  } else if (record.fences !== true) {
    lines.push(`The last decision was ${action}; the record does not say whether it fenced: ${where} (${who}).`);
  } else if (last.thisBoot === false) {
    lines.push(`The last reboot was hb's: ${where} (${who}, boot ${word(record.bootId)}).`);
  } else if (last.thisBoot === true) {
    lines.push(`hb decided to fence during this boot, and the host has not rebooted since: ${where} (${who}).`);
  } else {
    lines.push(`The last fence was hb's ${action}: ${where} (${who}); the boot id is unknown, so whether it caused the last reboot cannot be told.`);
  }
  for (const followUp of last.followUps) lines.push(`  then (${word(followUp.kind)}): ${word(followUp.detail, "-")}`);
  const history = listOf(record.history);
  if (history.length > 0) {
    lines.push("  state history:");
    for (const change of history.slice(-6)) lines.push(`    ${seconds(change.atMs)} ${word(change.from, "start")} → ${word(change.to)}: ${word(change.reason, "-")}`);
  }
  const attempts = listOf(record.lastAttempts);
  if (attempts.length > 0) lines.push(`  last attempts: ${attempts.map((attempt) => `${word(attempt.result)} ${seconds(attempt.latencyMs)}`).join(", ")}`);
  if (last.skippedLines > 0) lines.push(`  (${last.skippedLines} unreadable line(s) in ${printable(last.path)} skipped)`);
  return `${lines.join("\n")}\n`;
}
