import { chmodSync, lstatSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname } from "node:path";
import { HbError } from "@hb/config";
import type { Clock } from "@hb/core";
import { MAX_REQUEST_BYTES, parseControlRequest as parseRequestLine, type ControlRequestTaken } from "@hb/protocol";

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

export type ControlHandler = (request: ControlRequestTaken) => Promise<unknown>;

/** Validate one request line with the protocol's schemas; anything else is refused (ControlRequestError), never guessed at. */
export function parseControlRequest(line: string): ControlRequestTaken {
  const parsed = parseRequestLine(line);
  if (!parsed.ok) throw new ControlRequestError(parsed.error);
  return parsed.request;
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

const IDLE_MS = 5_000;

/**
 * The control channel: a Unix socket in the state directory, mode 0600 in a folder only its
 * owner can write, so only root can switch fencing off, defer a -c or reload. One JSON
 * request line per connection, one JSON answer line. The first line is the request and is
 * handled once: bytes after it in the same read refuse it, bytes in later writes are never read
 * as a request (a client that writes twice must not count a veto twice).
 */
export async function startControlSocket(path: string, handle: ControlHandler, uid: number, clock: Clock, onNote: (note: string) => void = () => undefined): Promise<Server> {
  const note = secureControlFolder(dirname(path), uid);
  if (note !== null) onNote(note);
  rmSync(path, { force: true });
  const server = createServer((socket) => {
    let buffer = "";
    let taken = false;
    const refuse = (message: string) => socket.end(`${JSON.stringify({ ok: false, error: message })}\n`);
    socket.setEncoding("utf8");
    // A connection that stays silent for IDLE_MS is closed, on the Clock like every wait of hbd's.
    let idle = clock.setTimer(IDLE_MS, () => socket.destroy());
    socket.on("close", () => idle.cancel());
    socket.on("error", () => undefined);
    socket.on("data", (chunk: string) => {
      idle.cancel();
      idle = clock.setTimer(IDLE_MS, () => socket.destroy());
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
      let request: ControlRequestTaken;
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
