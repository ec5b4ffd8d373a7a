import { createServer, type Server } from "node:http";
import { isIP } from "node:net";
import { HbError } from "@hb/config";

export class StatusListenError extends HbError {
  constructor(message: string) {
    super("STATUS_LISTEN", message);
  }
}

export interface StatusSource {
  healthy(): boolean;
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
}

/** `host:port` of hb.status.listen; a non-loopback host only when explicitly allowed. */
export function parseListen(value: string, allowRemote: boolean): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new StatusListenError(`hb.status.listen=${value}: expected HOST:PORT, e.g. 127.0.0.1:9746`);
  }
  const loopback = host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
  if (!loopback && !allowRemote) {
    throw new StatusListenError(`hb.status.listen=${value} is not a loopback address; set hb.status.allow.remote=true to expose it`);
  }
  return { host, port };
}

/** The read-only status endpoint: /healthz, /status (JSON), /metrics (Prometheus). */
export async function startStatusServer(listen: { host: string; port: number }, source: StatusSource): Promise<{ server: Server; address: string }> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET" }).end("read-only: changes go through the control socket\n");
      return;
    }
    const path = (request.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      const healthy = source.healthy();
      response.writeHead(healthy ? 200 : 503, { "content-type": "text/plain" }).end(healthy ? "ok\n" : "unhealthy\n");
    } else if (path === "/status") {
      response.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(source.status(), null, 2)}\n`);
    } else if (path === "/metrics") {
      source.metrics().then(
        ({ contentType, body }) => response.writeHead(200, { "content-type": contentType }).end(body),
        (error: unknown) => response.writeHead(500).end(String(error)),
      );
    } else {
      response.writeHead(404, { "content-type": "text/plain" }).end("not found: /healthz, /status, /metrics\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : listen.port;
  return { server, address: `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${port}` };
}
