import { createServer as createHttpServer } from "node:http";
import { createServer as createNetServer } from "node:net";
import { chmod, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb } from "./harness.js";
import { parseDuration } from "../src/commands/maintenance.js";

const temp = await makeTempDir("hb-client-");
afterAll(() => temp.remove());

const STATUS = {
  action: "reboot",
  fences: true,
  dryRun: false,
  maintenance: null,
  watchdog: { mode: "none", armed: false },
  stuckChildren: 1,
  eventLoopLagP99Ms: 2.1,
  decisions: [],
  vetoes: { total: 3, vetoed: 2, deferred: 1 },
  targets: [
    { id: "pool-a", kind: "nfs", state: "healthy", armed: true, lastGoodAt: "2026-11-26T19:00:01.000Z", lastGoodAgeMs: 3200, consecutiveFailures: 0, latencyMs: { p99: 12 }, decisionAtTheLatest: "2026-11-26T19:06:41.000Z" },
    { id: "linstor-a", kind: "linstor", state: "degraded", armed: true, lastGoodAt: null, lastGoodAgeMs: null, consecutiveFailures: 2, latencyMs: { p99: null }, decisionAtTheLatest: null },
  ],
};

describe("hb status and hb maintenance (hbd's endpoints)", () => {
  it("prints hbd's status as a table, and exits 2 naming the address when hbd does not answer", async () => {
    const server = createHttpServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(STATUS)));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    const file = temp.file("status.properties");
    await writeFile(file, `hb.status.listen=127.0.0.1:${port}\n`);
    const { code, stdout } = await runHb(["status", "--file", file]);
    server.close();
    expect(code).toBe(0);
    expect(stdout).toMatch(/^POOL\s+KIND\s+STATE/);
    expect(stdout).toMatch(/^pool-a\s+nfs\s+healthy\s+yes\s+19:00:01\s+3\.2 s\s+12 ms\s+0\s+19:06:41$/m);
    expect(stdout).toMatch(/^linstor-a\s+linstor\s+degraded\s+yes\s+-\s+-\s+-\s+2\s+-$/m);
    expect(stdout).toMatch(/action reboot \(fences\) · maintenance off · watchdog none · stuck children 1/);
    expect(stdout).toMatch(/-c vetoed 2, deferred 1/);
    const down = await runHb(["status", "--file", file]);
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(new RegExp(`hbd does not answer at http://127\\.0\\.0\\.1:${port}/status`));
  });

  it("sends maintenance requests on the control socket and reports the answer", async () => {
    const requests: unknown[] = [];
    const server = createNetServer((socket) =>
      socket.on("data", (data) => {
        requests.push(JSON.parse(String(data)));
        socket.end(`${JSON.stringify({ ok: true, result: { maintenanceUntil: { until: "2026-11-26T20:00:00.000Z" } } })}\n`);
      }),
    );
    await new Promise<void>((resolve) => server.listen(temp.file("hbd.sock"), resolve));
    // As hbd makes it: a socket open to others fails the ownership check, and nothing is sent.
    await chmod(temp.file("hbd.sock"), 0o600);
    const file = temp.file("m.properties");
    await writeFile(file, `hb.state.dir=${temp.path}\n`);
    const on = await runHb(["maintenance", "on", "--ttl", "30m", "--reason", "kernel update", "--file", file]);
    expect(on).toMatchObject({ code: 0, stdout: "fencing suspended until 2026-11-26T20:00:00.000Z; heartbeats continue\n" });
    expect((await runHb(["maintenance", "off", "--file", file])).code).toBe(0);
    server.close();
    expect(requests).toEqual([{ op: "maintenance-on", ttlMs: 1_800_000, reason: "kernel update" }, { op: "maintenance-off" }]);
    const gone = await runHb(["maintenance", "off", "--file", file]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toMatch(/cannot ask hbd: no .*hbd\.sock \(hbd is not running\)/);
  });

  it("refuses maintenance without a bounded --ttl", async () => {
    const { code, stderr } = await runHb(["maintenance", "on"]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/needs --ttl/);
    expect(parseDuration("90")).toBe(90_000);
    expect(parseDuration("500ms")).toBe(500);
    expect(() => parseDuration("soon")).toThrow(/duration/);
  });
});
