import { createServer } from "node:net";
import { writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb } from "./harness.js";

const temp = await makeTempDir("hb-maintenance-");
const requests: unknown[] = [];
// Stands in for hbd's control socket and grants anything: what it receives is what hb sent.
const hbd = createServer((socket) =>
  socket.on("data", (data) => {
    requests.push(JSON.parse(String(data)));
    socket.end(`${JSON.stringify({ ok: true, result: { maintenanceUntil: { until: "2026-11-26T20:00:00.000Z" } } })}\n`);
  }),
);
let file = "";
beforeAll(async () => {
  await new Promise<void>((resolve) => hbd.listen(temp.file("hbd.sock"), resolve));
  file = temp.file("agent.properties");
  await writeFile(file, `hb.state.dir=${temp.path}\n`);
});
afterAll(async () => {
  hbd.close();
  await temp.remove();
});

describe("hb maintenance on --ttl", () => {
  it.each([
    ["0s", /--ttl "0s": suspends nothing; expected a duration such as 30m, 1h, 90s/],
    ["0", /--ttl "0": suspends nothing/],
    ["25h", /--ttl "25h": longer than 24 h, the longest maintenance hbd grants/],
    ["3000000000ms", /--ttl "3000000000ms": longer than 24 h/],
    ["99999999999999999999h", /--ttl "99999999999999999999h": longer than 24 h/],
  ])("refuses %s on the client side, with a named usage error (exit 2) and nothing sent", async (ttl, message) => {
    requests.length = 0;
    const { code, stdout, stderr } = await runHb(["maintenance", "on", "--ttl", ttl, "--file", file]);
    expect([code, stdout]).toEqual([2, ""]);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(requests).toEqual([]);
  });

  it("sends the longest maintenance hbd grants, 24 h", async () => {
    requests.length = 0;
    expect((await runHb(["maintenance", "on", "--ttl", "24h", "--file", file])).code).toBe(0);
    expect(requests).toEqual([{ op: "maintenance-on", ttlMs: 86_400_000, reason: "operator" }]);
  });
});
