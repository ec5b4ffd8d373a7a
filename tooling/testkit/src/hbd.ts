// Stand-ins for hbd's two channels: its control socket (a real Unix socket in a state folder,
// answering as hbd does), and a stranger on the TCP status port: a real listener running as
// uid 65534 (nobody) through setpriv, as any local user could start one.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmod, mkdir } from "node:fs/promises";
import { createServer, type AddressInfo, type Server } from "node:net";

export interface FakeControlSocket {
  readonly path: string;
  readonly requests: unknown[];
  close(): Promise<void>;
}

/** hbd's status document with the fields -c relies on; `more` adds or replaces fields. */
export function statusDocument(targets: readonly Record<string, unknown>[], more: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: "0.1.0", healthy: true, maintenance: null, targets, ...more };
}

/**
 * A control socket at `<stateDir>/hbd.sock`, made as hbd makes it (folder 0700, socket 0600,
 * owned by whoever runs the test); `answer` gives the `result` of each request, or a whole line.
 */
export async function fakeControlSocket(stateDir: string, answer: (request: unknown) => unknown): Promise<FakeControlSocket> {
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await chmod(stateDir, 0o700);
  const path = `${stateDir}/hbd.sock`;
  const requests: unknown[] = [];
  const server: Server = createServer((socket) => {
    let buffer = "";
    socket.on("error", () => undefined);
    socket.on("data", (chunk) => {
      buffer += String(chunk);
      if (!buffer.includes("\n")) return;
      const request = JSON.parse(buffer.slice(0, buffer.indexOf("\n"))) as unknown;
      requests.push(request);
      const reply = answer(request);
      socket.end(typeof reply === "string" ? reply : `${JSON.stringify({ ok: true, result: reply })}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(path, resolve));
  await chmod(path, 0o600);
  return { path, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** Why a listener of another uid cannot be started here, or null. */
export function otherUidUnavailableReason(): string | null {
  if (process.getuid?.() !== 0) return "a listener of another uid needs root (setpriv)";
  if (spawnSync("setpriv", ["--version"], { stdio: "ignore" }).status !== 0) return "setpriv (util-linux) is not installed";
  return null;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

export interface Stranger {
  readonly listen: string;
  readonly uid: number;
  stop(): Promise<void>;
}

/**
 * An HTTP server as uid 65534 on 127.0.0.1:port, answering /status with `status` and /healthz
 * with 200: what an unprivileged user can put on hb.status.listen while hbd is not there.
 */
export async function strangerOnStatusPort(port: number, status: unknown): Promise<Stranger> {
  const source = `
    const http = require("node:http");
    const body = ${JSON.stringify(JSON.stringify(status))};
    http.createServer((request, response) => {
      if (request.url === "/healthz") response.writeHead(200, { "content-type": "text/plain" }).end("ok\\n");
      else response.writeHead(200, { "content-type": "application/json" }).end(body);
    }).listen(${port}, "127.0.0.1", () => process.stdout.write(String(process.getuid()) + "\\n"));`;
  const child: ChildProcess = spawn("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, "-e", source], { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => void (output += chunk));
  child.stderr?.on("data", (chunk: Buffer) => void (output += chunk));
  const uid = await new Promise<number>((resolve, reject) => {
    child.stdout?.on("data", () => {
      if (output.includes("\n")) resolve(Number(output.trim()));
    });
    child.once("exit", (code) => reject(new Error(`the stranger's listener exited with ${code}: ${output}`)));
  });
  return {
    listen: `127.0.0.1:${port}`,
    uid,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}
