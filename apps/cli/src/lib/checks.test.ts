// The CLI's parts of -c's verification: the one-owner rule over hbd's status and asking hbd under
// a deadline (DRBD's veto rule is tested in @hb/storage-drbd, the veto lines in @hb/fence).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { askDaemon, parseDaemonStatus, type DaemonTarget, type DaemonView } from "./hbd-client.js";
import { judgeDaemon } from "./one-owner.js";

const target = (fields: Partial<DaemonTarget> & Pick<DaemonTarget, "id" | "kind">): DaemonTarget => ({
  state: "healthy",
  armed: true,
  lastGoodAt: "2026-11-26T10:00:00.000Z",
  lastGoodAgeMs: 1200,
  lastChange: null,
  ...fields,
});
const view = (targets: DaemonTarget[], more: Partial<DaemonView> = {}): DaemonView => ({ address: "127.0.0.1:9746", version: "0.1.0", healthy: true, maintenance: null, targets, ...more });
const nfs = { kind: "nfs", mountPoint: "/mnt/pool-a" } as const;

describe("one owner: hbd's verdict", () => {
  it("defers to hbd for the NFS pool at -m while its verdict is not dead", () => {
    for (const state of ["healthy", "degraded", "slow", "failing"]) {
      const verdict = judgeDaemon(view([target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a/", state })]), nfs);
      expect(verdict).toMatchObject({ kind: "defer", detail: expect.stringContaining(`pool-a ${state} (last good heartbeat 1.2 s ago)`) });
    }
  });

  it("acts when hbd's verdict is dead, and says so", () => {
    const verdict = judgeDaemon(view([target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "dead", lastChange: { reason: "all 5 tries failed" } })]), nfs);
    expect(verdict).toMatchObject({ kind: "dead", note: "hbd's verdict: pool-a dead (all 5 tries failed)" });
  });

  it("decides here when hbd does not watch that pool, is unhealthy, or never saw the pool work", () => {
    expect(judgeDaemon(view([target({ id: "pool-b", kind: "nfs", mountPoint: "/mnt/pool-b" })]), nfs)).toMatchObject({ kind: "no-target" });
    expect(judgeDaemon(view([target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a" })]), { kind: "nfs", mountPoint: undefined }).kind).toBe("no-target");
    expect(judgeDaemon(view([target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a" })], { healthy: false }), nfs)).toMatchObject({ kind: "not-owned", note: expect.stringContaining("does not report itself healthy") });
    expect(judgeDaemon(view([target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", armed: false, state: "failing" })]), nfs)).toMatchObject({
      kind: "not-owned",
      note: expect.stringContaining("no good heartbeat from pool-a since it started"),
    });
  });

  it("defers during hbd's maintenance, naming its end", () => {
    const verdict = judgeDaemon(view([target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "failing" })], { maintenance: { until: "2026-11-26T11:00:00.000Z" } }), nfs);
    expect(verdict).toMatchObject({ kind: "defer", detail: expect.stringContaining("maintenance until 2026-11-26T11:00:00.000Z") });
  });

  it("for kvmspheartbeat.sh takes hbd's LINSTOR targets, never its NFS pools", () => {
    const targets = [target({ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "dead" }), target({ id: "drbd", kind: "linstor", state: "degraded" })];
    expect(judgeDaemon(view(targets), { kind: "shared-block" })).toMatchObject({ kind: "defer", detail: expect.stringContaining("drbd degraded") });
    expect(judgeDaemon(view(targets.slice(0, 1)), { kind: "shared-block" }).kind).toBe("no-target");
  });

  it("reads hbd's status document and refuses anything else", () => {
    expect(parseDaemonStatus({ version: "0.1.0", maintenance: null, targets: [{ id: "p", kind: "nfs", mountPoint: "/mnt/p", state: "healthy", armed: true }] }, "a", true)).toMatchObject({
      targets: [{ id: "p", kind: "nfs", mountPoint: "/mnt/p", state: "healthy", armed: true, lastGoodAt: null }],
    });
    expect(parseDaemonStatus({ hello: "world" }, "a", true)).toBeNull();
    expect(parseDaemonStatus({ version: "1", targets: [{ id: 3 }] }, "a", true)).toBeNull();
  });
});

// The TCP endpoint is asked by hb doctor only, for people: never by -c (see verify-trust.test.ts).
describe("asking hbd's status endpoint", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    server = undefined;
  });

  const listen = async (handler: Parameters<typeof createServer>[1]) => {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    return `127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  it("gives up at its deadline when hbd accepts but never answers (a stopped or hung hbd)", async () => {
    const address = await listen(() => undefined);
    expect(await askDaemon(address, 300)).toEqual({ answered: false, reason: `http://${address}: no answer within 300 ms` });
  });

  it("takes /healthz into the view, and refuses a program that is not hbd", async () => {
    const address = await listen((request, response) => {
      if (request.url === "/healthz") response.writeHead(503).end("unhealthy\n");
      else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version: "0.1.0", maintenance: null, targets: [] }));
    });
    expect(await askDaemon(address, 2000)).toMatchObject({ answered: true, view: { healthy: false, version: "0.1.0" } });
    const other = await listen((_request, response) => response.writeHead(200).end("<html>"));
    expect(await askDaemon(other, 2000)).toMatchObject({ answered: false });
  });
});
