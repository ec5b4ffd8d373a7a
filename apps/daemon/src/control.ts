import { chmodSync, lstatSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { HbError } from "@hb/config";

export class ControlSocketError extends HbError {
  constructor(message: string) {
    super("CONTROL_SOCKET", message);
  }
}

/** A request line hbd does not take; its message is the answer's `error`. */
export class ControlRequestError extends HbError {
  constructor(message: string) {
    super("CONTROL_REQUEST", message);
  }
}

/** The longest request line, its newline included. */
export const MAX_REQUEST_BYTES = 4096;

/** Why a -c entry point did not fence: its own check vetoed it, or hbd owns the decision. */
export const VETO_CHECKS = ["drbd-quorum", "storage", "hbd"] as const;
export type VetoCheck = (typeof VETO_CHECKS)[number];

/** A -c entry point's report that it did not fence (counted in status and metrics, nothing else). */
export interface FenceVetoReport {
  readonly op: "fence-veto";
  readonly outcome: "vetoed" | "deferred";
  readonly check: VetoCheck;
  /** kvmheartbeat.sh or kvmspheartbeat.sh. */
  readonly source: string;
  readonly target: string;
  readonly detail: string;
}

export type ControlRequest =
  | { readonly op: "maintenance-on"; readonly ttlMs: number; readonly reason: string }
  | { readonly op: "maintenance-off" }
  | { readonly op: "reload" }
  | { readonly op: "status" }
  | FenceVetoReport;

export type ControlHandler = (request: ControlRequest) => Promise<unknown>;

const MAX_TTL_MS = 24 * 3600_000;

/** Validate one request line; anything else is refused (ControlRequestError), never guessed at. */
export function parseControlRequest(line: string): ControlRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new ControlRequestError("a request is one JSON object with an op, not a line that is not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ControlRequestError(`a request is one JSON object with an op, not ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}`);
  }
  const request = value as Record<string, unknown>;
  switch (request.op) {
    case "maintenance-on": {
      const ttlMs = request.ttlMs;
      if (typeof ttlMs !== "number" || !Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) throw new ControlRequestError(`ttlMs must be a whole number of ms, 1 to ${MAX_TTL_MS}`);
      return { op: "maintenance-on", ttlMs, reason: typeof request.reason === "string" ? request.reason.slice(0, 200) : "operator" };
    }
    case "maintenance-off":
    case "reload":
    case "status":
      return { op: request.op };
    case "fence-veto":
      return parseVetoReport(request);
    default:
      throw new ControlRequestError(`unknown op ${JSON.stringify(request.op) ?? "(none)"}`);
  }
}

// Free text from another process ends up in logs and the status page: one short printable line.
function shortText(value: unknown, name: string, max: number): string {
  if (typeof value !== "string" || value.trim() === "") throw new ControlRequestError(`${name} must be a non-empty string`);
  const text = value.replace(/\p{Cc}+/gu, " ").trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function parseVetoReport(request: Record<string, unknown>): FenceVetoReport {
  const { outcome, check } = request;
  if (outcome !== "vetoed" && outcome !== "deferred") throw new ControlRequestError("outcome must be vetoed or deferred");
  if (typeof check !== "string" || !(VETO_CHECKS as readonly string[]).includes(check)) throw new ControlRequestError(`check must be one of ${VETO_CHECKS.join(", ")}`);
  return {
    op: "fence-veto",
    outcome,
    check: check as VetoCheck,
    source: shortText(request.source, "source", 40),
    target: shortText(request.target, "target", 200),
    detail: shortText(request.detail, "detail", 300),
  };
}

/**
 * The control socket's folder must be ours and writable by no one else: whoever can write
 * there can put a socket of their own in its place, and a -c entry point takes deferrals only
 * from this socket. A folder open to others is closed (0700) and said so; one owned by another
 * user is refused.
 */
export function secureControlFolder(folder: string, uid: number): string | null {
  const stat = lstatSync(folder);
  if (!stat.isDirectory()) throw new ControlSocketError(`${folder} is not a folder: no control socket`);
  if (stat.uid !== uid) throw new ControlSocketError(`${folder} is owned by uid ${stat.uid}, not ${uid}: no control socket (a -c entry point would not trust it)`);
  if ((stat.mode & 0o022) === 0) return null;
  chmodSync(folder, 0o700);
  return `${folder} was writable by others (mode ${(stat.mode & 0o777).toString(8)}): now 0700`;
}

/**
 * The control channel: a Unix socket in the state directory, mode 0600 in a folder only its
 * owner can write, so only root can switch fencing off, defer a -c or reload. One JSON
 * request line per connection, one JSON answer line. The first line is the request and is
 * handled once: bytes after it in the same read refuse it, bytes in later writes are never read
 * as a request (a client that writes twice must not count a veto twice).
 */
export async function startControlSocket(path: string, handle: ControlHandler, uid: number, onNote: (note: string) => void = () => undefined): Promise<Server> {
  const note = secureControlFolder(dirname(path), uid);
  if (note !== null) onNote(note);
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buffer = "";
    let taken = false;
    const refuse = (message: string) => socket.end(`${JSON.stringify({ ok: false, error: message })}\n`);
    socket.setEncoding("utf8");
    socket.setTimeout(5_000, () => socket.destroy());
    socket.on("error", () => undefined);
    socket.on("data", (chunk: string) => {
      if (taken) return;
      buffer += chunk;
      const newline = buffer.indexOf("\n");
      if (newline < 0 ? Buffer.byteLength(buffer) >= MAX_REQUEST_BYTES : Buffer.byteLength(buffer.slice(0, newline + 1)) > MAX_REQUEST_BYTES) {
        taken = true;
        return refuse(`a request is at most ${MAX_REQUEST_BYTES} bytes`);
      }
      if (newline < 0) return;
      taken = true;
      const after = Buffer.byteLength(buffer.slice(newline + 1));
      if (after > 0) return refuse(`one request per connection: ${after} byte(s) after the first line refused`);
      let request: ControlRequest;
      try {
        request = parseControlRequest(buffer.slice(0, newline));
      } catch (error) {
        return refuse(error instanceof ControlRequestError ? error.message : `refused: ${String(error)}`);
      }
      handle(request).then(
        (result) => socket.end(`${JSON.stringify({ ok: true, result })}\n`),
        (error: unknown) => refuse(error instanceof Error ? error.message : String(error)),
      );
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(path, () => resolve());
  });
  chmodSync(path, 0o600);
  return server;
}
