import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { drbdFixture } from "./drbd.js";

export type ControllerMode = { kind: "nodes"; body?: string } | { kind: "status"; status: number } | { kind: "hang" } | { kind: "garbage" };

/** A stand-in LINSTOR controller on 127.0.0.1 serving GET /v1/nodes as told. */
export interface FakeController {
  readonly url: string;
  mode: ControllerMode;
  readonly requests: { method: string; path: string; accept: string }[];
  close(): Promise<void>;
}

export async function startController(): Promise<FakeController> {
  const nodes = await drbdFixture("linstor-nodes.json");
  const hanging: ServerResponse[] = [];
  const requests: FakeController["requests"] = [];
  const controller = { mode: { kind: "nodes" } as ControllerMode };
  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    requests.push({ method: request.method ?? "", path: request.url ?? "", accept: String(request.headers.accept ?? "") });
    const mode = controller.mode;
    if (request.url !== "/v1/nodes") {
      response.writeHead(404, { "content-type": "application/json" }).end('[{"ret_code":-4611686018427387904,"message":"not found"}]');
      return;
    }
    switch (mode.kind) {
      case "nodes":
        response.writeHead(200, { "content-type": "application/json" }).end(mode.body ?? nodes);
        return;
      case "status":
        response.writeHead(mode.status, { "content-type": "application/json" }).end('[{"ret_code":-4611686018427387904,"message":"Internal error"}]');
        return;
      case "garbage":
        response.writeHead(200, { "content-type": "text/html" }).end("<html><body>LINSTOR GUI</body></html>");
        return;
      case "hang":
        hanging.push(response);
        return;
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    get mode() {
      return controller.mode;
    },
    set mode(mode: ControllerMode) {
      controller.mode = mode;
    },
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
