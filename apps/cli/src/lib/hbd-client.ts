// hb's client of hbd: its control socket (root's, checked for owner and mode, asked from a child)
// and its read-only status endpoint (information for people, never a reason not to fence).
import { HbError } from "@hb/errors";
import type { ExecResult } from "@hb/core";
import { controlSocketPath, parseControlAnswer, parseHbdStatus, pidFilePath, type ControlRequest, type HbdStatus } from "@hb/protocol";
import type * as NodeFs from "node:fs";
import type * as NodeNet from "node:net";
import type { RunDeps } from "../context.js";

export class DaemonUnreachableError extends HbError {
  constructor(message: string) {
    super("DAEMON_UNREACHABLE", message);
  }
}

/** hbd's status document is a few kB per pool; an answer past this is not hbd's. */
export const STATUS_BODY_MAX_BYTES = 4 * 1024 * 1024;

/**
 * The body of an HTTP answer as JSON, read up to maxBytes: any local user may answer on the status
 * port, and an endless body must not fill this process's memory before the deadline ends it.
 */
export async function boundedJson(response: Response, maxBytes = STATUS_BODY_MAX_BYTES): Promise<unknown> {
  const tooLarge = () => new Error(`the answer is larger than ${maxBytes} bytes: not hbd's status`);
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => undefined);
    throw tooLarge();
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = response.body?.getReader();
  for (;;) {
    const next = reader === undefined ? { done: true as const, value: undefined } : await reader.read();
    if (next.done) break;
    total += next.value.byteLength;
    if (total > maxBytes) {
      await reader?.cancel().catch(() => undefined);
      throw tooLarge();
    }
    chunks.push(next.value);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown;
}

/** GET a JSON document from hbd's read-only status endpoint, within the local step deadline. */
export async function fetchStatus(listen: string, deadlineMs: number): Promise<unknown> {
  const url = `http://${listen}/status`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(deadlineMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await boundedJson(response);
  } catch (error) {
    throw new DaemonUnreachableError(`hbd does not answer at ${url}: ${(error as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// hbd's status document, as far as -c and hb doctor rely on it.

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
  /** hbd's own word; missing means not healthy. */
  readonly healthy: boolean;
  readonly maintenance: { readonly until: string } | null;
  readonly targets: readonly DaemonTarget[];
}

export type DaemonAnswer = { readonly answered: true; readonly view: DaemonView } | { readonly answered: false; readonly reason: string };

/** hbd's status (parsed with @hb/protocol's schema) as -c and hb doctor use it; healthy from the document unless told. */
export function daemonView(status: HbdStatus, address: string, healthy = status.healthy === true): DaemonView {
  const { maintenance } = status;
  return {
    address,
    version: status.version,
    healthy,
    maintenance: maintenance !== null && maintenance !== "unreadable" && maintenance.until !== null ? { until: maintenance.until } : null,
    targets: status.targets.map((target) => ({
      id: target.id,
      kind: target.kind,
      ...(target.mountPoint === undefined ? {} : { mountPoint: target.mountPoint }),
      state: target.state,
      armed: target.armed,
      lastGoodAt: target.lastGoodAt,
      lastGoodAgeMs: target.lastGoodAgeMs,
      lastChange: target.lastChange === null ? null : target.lastChange.reason === null ? {} : { reason: target.lastChange.reason },
    })),
  };
}

/** hbd's status document as -c relies on it, or null when the value is not one (another program answering). */
export function parseDaemonStatus(value: unknown, address: string, healthy?: boolean): DaemonView | null {
  const status = parseHbdStatus(value);
  return status === null ? null : daemonView(status, address, healthy);
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


// ---------------------------------------------------------------------------------------------
// The trusted channel: hbd's control socket, checked for owner and mode, asked from a child.

/** What `<hb.state.dir>/hbd.pid` held, as read next to the socket (null: no such file). */
export type PidFileRead = { readonly read: true; readonly path: string; readonly text: string | null } | { readonly read: false; readonly path: string; readonly reason: string };

/** Why hbd's control socket gave no answer to rely on. */
export type ControlFailure =
  /** The socket or its folder could be changed by someone other than root: its answer proves nothing. */
  | "untrusted"
  /** No socket, nobody listening (hbd not running), or permission denied (not root). */
  | "unreachable"
  /** hbd answered with an error. */
  | "refused"
  /** No answer within the deadline: hbd stopped, or the state folder hangs. */
  | "timeout"
  /** hb's own fault (descriptors, memory, a child that could not start): never a reason not to fence. */
  | "own-fault";

export type ControlAnswer =
  | { readonly ok: true; readonly socket: string; readonly result: unknown; readonly pidFile: PidFileRead }
  | { readonly ok: false; readonly socket: string; readonly failure: ControlFailure; readonly reason: string; readonly pidFile: PidFileRead };

interface ControlWorkerRequest {
  readonly folder: string;
  readonly socket: string;
  readonly pidFile: string;
  readonly line: string;
  readonly deadlineMs: number;
}

type ControlWorkerReply =
  | { readonly ok: true; readonly answer: string; readonly pid: PidFileRead }
  | { readonly ok: false; readonly failure: ControlFailure; readonly reason: string; readonly pid: PidFileRead };

const CONTROL_FAILURES: ReadonlySet<string> = new Set<ControlFailure>(["untrusted", "unreachable", "refused", "timeout", "own-fault"]);

function parsePidRead(value: unknown): PidFileRead | null {
  if (typeof value !== "object" || value === null) return null;
  const pid = value as Record<string, unknown>;
  if (typeof pid.path !== "string") return null;
  if (pid.read === true && (typeof pid.text === "string" || pid.text === null)) return { read: true, path: pid.path, text: pid.text };
  if (pid.read === false && typeof pid.reason === "string") return { read: false, path: pid.path, reason: pid.reason };
  return null;
}

/** The control client's reply, or null when its output is not one (a broken child is hb's own fault, never an answer). */
function parseWorkerReply(stdout: string): ControlWorkerReply | null {
  let value: unknown;
  try {
    value = JSON.parse(stdout);
  } catch {
    return null;
  }
  if (typeof value !== "object" || value === null) return null;
  const reply = value as Record<string, unknown>;
  const pid = parsePidRead(reply.pid);
  if (pid === null) return null;
  if (reply.ok === true && typeof reply.answer === "string") return { ok: true, answer: reply.answer, pid };
  if (reply.ok === false && typeof reply.failure === "string" && CONTROL_FAILURES.has(reply.failure) && typeof reply.reason === "string") {
    return { ok: false, failure: reply.failure as ControlFailure, reason: reply.reason, pid };
  }
  return null;
}

/**
 * The child's work, serialized with Function#toString: it may use only its parameters and what
 * it declares inside. Checks, without following links, that the socket's folder and the socket
 * belong to root (or to the caller itself, who could do anything to it anyway) and that no one
 * else may write them; reads hbd.pid beside it; then one request line, one answer line.
 */
function controlWorker(fs: typeof NodeFs, net: typeof NodeNet, request: ControlWorkerRequest, euid: number): Promise<ControlWorkerReply> {
  const OWN_FAULTS = ["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"];
  const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;
  const owner = (uid: number) => (uid === 0 ? "root" : `uid ${uid}`);
  const trusted = (uid: number) => uid === 0 || uid === euid;
  const trustedOwners = euid === 0 ? "root" : `root or uid ${euid}`;
  const failed = (failure: ControlFailure, reason: string, pid: PidFileRead): Promise<ControlWorkerReply> => Promise.resolve({ ok: false, failure, reason, pid });
  const codeOf = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code ?? "";
  const errorFailure = (error: unknown): ControlFailure => (OWN_FAULTS.includes(codeOf(error)) ? "own-fault" : "unreachable");
  let pid: PidFileRead = { read: false, path: request.pidFile, reason: "not read" };

  let folder: NodeFs.Stats;
  try {
    folder = fs.lstatSync(request.folder);
  } catch (error) {
    return failed(errorFailure(error), codeOf(error) === "ENOENT" ? `no ${request.folder} (hbd has not run here)` : `${request.folder}: ${codeOf(error) || String(error)}`, pid);
  }
  // hbd.pid: a regular file only (a FIFO would block, a device could act on open), never through
  // a link, and only its first line's worth of bytes.
  try {
    const info = fs.lstatSync(request.pidFile);
    if (!info.isFile()) {
      pid = { read: false, path: request.pidFile, reason: "not a regular file" };
    } else {
      const fd = fs.openSync(request.pidFile, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY);
      try {
        if (!fs.fstatSync(fd).isFile()) {
          pid = { read: false, path: request.pidFile, reason: "not a regular file" };
        } else {
          const bytes = Buffer.alloc(64);
          const length = fs.readSync(fd, bytes, 0, bytes.length, 0);
          pid = { read: true, path: request.pidFile, text: bytes.subarray(0, length).toString("utf8") };
        }
      } finally {
        fs.closeSync(fd);
      }
    }
  } catch (error) {
    pid = codeOf(error) === "ENOENT" ? { read: true, path: request.pidFile, text: null } : { read: false, path: request.pidFile, reason: codeOf(error) || String(error) };
  }
  if (!folder.isDirectory()) return failed("untrusted", `${request.folder} is not a folder (a symbolic link or another file)`, pid);
  if (!trusted(folder.uid)) return failed("untrusted", `${request.folder} is owned by ${owner(folder.uid)}, not ${trustedOwners}`, pid);
  if ((folder.mode & 0o022) !== 0) return failed("untrusted", `${request.folder} is writable by its group or others (mode ${octal(folder.mode)})`, pid);
  let socket: NodeFs.Stats;
  try {
    socket = fs.lstatSync(request.socket);
  } catch (error) {
    return failed(errorFailure(error), codeOf(error) === "ENOENT" ? `no ${request.socket} (hbd is not running)` : `${request.socket}: ${codeOf(error) || String(error)}`, pid);
  }
  if (!socket.isSocket()) return failed("untrusted", `${request.socket} is not a socket`, pid);
  if (!trusted(socket.uid)) return failed("untrusted", `${request.socket} is owned by ${owner(socket.uid)}, not ${trustedOwners}`, pid);
  if ((socket.mode & 0o077) !== 0) return failed("untrusted", `${request.socket} is open to its group or others (mode ${octal(socket.mode)}; hbd makes it 0600)`, pid);

  const checked = pid;
  return new Promise((resolve) => {
    let data = "";
    let settled = false;
    const client = net.connect(request.socket);
    const finish = (reply: ControlWorkerReply) => {
      if (settled) return;
      settled = true;
      client.destroy();
      resolve(reply);
    };
    // Answer before the parent's deadline ends this child, so that what was learnt (hbd.pid) is kept.
    const budgetMs = Math.max(1, request.deadlineMs - performance.now() - 150);
    client.setTimeout(budgetMs, () => finish({ ok: false, failure: "timeout", reason: `${request.socket}: no answer within ${request.deadlineMs} ms (hbd stopped or hung)`, pid: checked }));
    client.setEncoding("utf8");
    client.on("error", (error) =>
      finish({
        ok: false,
        failure: errorFailure(error),
        reason: codeOf(error) === "EACCES" ? `${request.socket}: permission denied (only root may ask hbd)` : `${request.socket}: ${codeOf(error) || error.message}`,
        pid: checked,
      }),
    );
    client.on("data", (chunk: string) => {
      data += chunk;
      if (data.length > 1 << 22) finish({ ok: false, failure: "refused", reason: `${request.socket}: answer too long`, pid: checked });
      else if (data.includes("\n")) finish({ ok: true, answer: data.slice(0, data.indexOf("\n")), pid: checked });
    });
    client.on("end", () => finish({ ok: true, answer: data, pid: checked }));
    client.write(request.line);
  });
}

const CONTROL_SOURCE = [
  '"use strict";',
  'process.title = "hb-control-client";',
  'const fs = require("node:fs"), net = require("node:net");',
  `Promise.resolve().then(() => (${controlWorker.toString()})(fs, net, JSON.parse(fs.readFileSync(0, "utf8")), process.geteuid()))`,
  '  .catch((error) => ({ ok: false, failure: ["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"].includes(error && error.code) ? "own-fault" : "unreachable", reason: String(error && error.message || error), pid: { read: false, path: "", reason: "not read" } }))',
  "  .then((reply) => process.stdout.write(JSON.stringify(reply)));",
].join("\n");

/**
 * One request to hbd over its control socket, from a child process bounded by deadlineMs: a hung
 * state folder blocks whoever touches it (even connect(2) resolves the path), and in this
 * process it would hold the event loop or a pool thread. Before connecting, the child checks the
 * socket and its folder (owner root, writable by no one else); an answer that fails the check is
 * no answer. Never throws.
 */
export async function askControl(stateDir: string, request: ControlRequest, deps: Pick<RunDeps, "executor">, deadlineMs: number): Promise<ControlAnswer> {
  const socket = controlSocketPath(stateDir);
  const pidPath = pidFilePath(stateDir);
  const unknownPid: PidFileRead = { read: false, path: pidPath, reason: "not read" };
  if (deadlineMs <= 0) return { ok: false, socket, failure: "timeout", reason: "no time left to ask hbd", pidFile: unknownPid };
  const workerRequest: ControlWorkerRequest = { folder: stateDir, socket, pidFile: pidPath, line: `${JSON.stringify(request)}\n`, deadlineMs };
  let exec: ExecResult;
  try {
    exec = await deps.executor.run({ file: process.execPath, args: ["--no-warnings", "-e", CONTROL_SOURCE], input: JSON.stringify(workerRequest), deadlineMs });
  } catch (error) {
    return { ok: false, socket, failure: "own-fault", reason: `cannot ask hbd: ${(error as Error).message}`, pidFile: unknownPid };
  }
  if (exec.timedOut) {
    return { ok: false, socket, failure: "timeout", reason: `${socket}: no answer within ${deadlineMs} ms (hbd stopped, or ${stateDir} hangs)`, pidFile: { read: false, path: pidPath, reason: "no answer" } };
  }
  if (exec.spawnError !== undefined) return { ok: false, socket, failure: "own-fault", reason: `cannot start the control client (${exec.spawnError})`, pidFile: unknownPid };
  const reply = parseWorkerReply(exec.stdout);
  if (reply === null) {
    const detail = exec.stderr.trim().split("\n").at(-1) ?? "";
    return { ok: false, socket, failure: "own-fault", reason: `the control client exited with ${exec.exitCode ?? exec.signal ?? "?"}${detail === "" ? "" : `: ${detail}`}`, pidFile: unknownPid };
  }
  const pidFile = { ...reply.pid, path: pidPath };
  if (!reply.ok) return { ok: false, socket, failure: reply.failure, reason: reply.reason, pidFile };
  let answer: unknown;
  try {
    answer = JSON.parse(reply.answer);
  } catch {
    return { ok: false, socket, failure: "refused", reason: `${socket}: the answer is not JSON: ${reply.answer.slice(0, 100)}`, pidFile };
  }
  const line = parseControlAnswer(answer);
  if (line?.ok === true) return { ok: true, socket, result: line.result, pidFile };
  const error = line?.ok === false ? line.error : null;
  return { ok: false, socket, failure: "refused", reason: `hbd refused: ${error === null ? "no reason" : error.slice(0, 200)}`, pidFile };
}
