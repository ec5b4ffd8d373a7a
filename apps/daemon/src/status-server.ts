import { createServer, type Server } from "node:http";

export interface StatusSource {
  /** What /healthz says; `problems` are the reasons when it is not healthy. */
  health(): { readonly healthy: boolean; readonly problems: readonly string[] };
  status(): unknown;
  metrics(): Promise<{ contentType: string; body: string }>;
}

/**
 * Limits of the status endpoint. Any local user can connect to it, so no number of clients,
 * idle or slow, may cost hbd more than a few descriptors or any of its loop's time: a client
 * past the cap is closed at once, an idle one after idleMs, one slow to send its request after
 * requestMs. No keep-alive: one request per connection.
 */
export interface StatusLimits {
  readonly maxConnections: number;
  readonly idleMs: number;
  readonly requestMs: number;
}

export const STATUS_LIMITS: StatusLimits = { maxConnections: 32, idleMs: 5_000, requestMs: 5_000 };

/** The read-only status endpoint: /healthz, /status (JSON), /metrics (Prometheus). */
export async function startStatusServer(
  listen: { host: string; port: number },
  source: StatusSource,
  limits: StatusLimits = STATUS_LIMITS,
): Promise<{ server: Server; address: string }> {
  const server = createServer(
    {
      // Node checks headersTimeout/requestTimeout only at this interval (30 s by default).
      connectionsCheckingInterval: Math.max(100, Math.min(limits.idleMs, limits.requestMs) / 2),
      headersTimeout: limits.requestMs,
      requestTimeout: limits.requestMs,
    },
    (request, response) => {
      response.shouldKeepAlive = false;
      if (request.method !== "GET" && request.method !== "HEAD") {
        response.writeHead(405, { allow: "GET" }).end("read-only: changes go through the control socket\n");
        return;
      }
      const path = (request.url ?? "/").split("?")[0];
      if (path === "/healthz") {
        const { healthy, problems } = source.health();
        response.writeHead(healthy ? 200 : 503, { "content-type": "text/plain" }).end(healthy ? "ok\n" : `unhealthy\n${problems.map((problem) => `${problem}\n`).join("")}`);
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
    },
  );
  // Past the cap, Node accepts and closes at once: the descriptor is given back immediately.
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = 1;
  // A connection that says nothing is closed after idleMs (the default handler destroys it).
  server.timeout = limits.idleMs;
  server.on("clientError", (_error, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  // Accept errors (EMFILE, a reset) must never bring hbd down.
  server.on("error", () => undefined);
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : listen.port;
  return { server, address: `${listen.host.includes(":") ? `[${listen.host}]` : listen.host}:${port}` };
}
