// An unprivileged local user's listener on hbd's status port, answering as if hbd were in
// maintenance until 2099. Prints "listening" once it holds the port.
// Usage: node hold-port.mjs PORT
import { createServer } from "node:http";

const port = Number(process.argv[2]);
createServer((_request, response) => {
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ maintenance: { until: "2099-01-01T00:00:00.000Z" }, targets: [] }));
}).listen(port, "127.0.0.1", () => process.stdout.write("listening\n"));
