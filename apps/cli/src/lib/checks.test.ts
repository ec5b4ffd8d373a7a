// The pure parts of -c's verification: DRBD's veto rule over every fixture class, the one-owner
// rule over hbd's status, asking hbd under a deadline, and the veto lines read back.
import { readFileSync } from "node:fs";
import { appendFile, mkdir } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseEvents2, parseShowJson, type DrbdResourceOptions } from "@hb/storage-drbd";
import { DRBD_FIXTURES, makeTempDir } from "@hb/testkit";
import { afterEach, describe, expect, it } from "vitest";
import { describeNoFences, readNoFences } from "@hb/fence";
import { judgeDrbdVeto } from "@hb/storage-drbd";
import { askDaemon, parseDaemonStatus, type DaemonTarget, type DaemonView } from "./hbd-client.js";
import { judgeDaemon } from "./one-owner.js";
import { showJson } from "../../test/verify-fixtures.js";

const R1 = "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41";
const events2 = (name: string) => parseEvents2(readFileSync(`${DRBD_FIXTURES}${name}.events2.txt`, "utf8"));
const options = (variant: Parameters<typeof showJson>[1] = {}, names?: readonly string[]): DrbdResourceOptions[] => parseShowJson(showJson(names, variant));

describe("the drbd-quorum veto", () => {
  // Every fixture class: a veto exactly where each resource this host is Primary of keeps
  // quorum, reaches UpToDate data and allows no second Primary.
  const table: [fixture: string, veto: boolean, because: RegExp][] = [
    ["three-node-tiebreaker", true, /quorum holds on all 1 Primary/],
    ["diskless-client", true, /diskless client, data through kvm-b, kvm-c/],
    ["resync-sync-source", true, /quorum holds on all 1 Primary/],
    ["resync-sync-target", true, /local disk Inconsistent, data served by UpToDate peer kvm-b/],
    ["congested", true, /quorum holds on all 2 Primary/],
    ["peer-connecting", true, /quorum:yes/],
    ["peer-standalone", true, /quorum:yes/],
    ["primary-detached", true, /local disk detached \(Diskless\), data served by UpToDate peer kvm-b/],
    ["secondary-quorum-lost", true, /quorum holds on all 1 Primary/],
    ["quorum-lost-suspend-io", false, /no quorum while Primary/],
    ["quorum-lost-io-error", false, /no quorum while Primary/],
    ["older-utils-quorum-lost", false, /no quorum while Primary/],
    ["primary-no-data", false, /no data accessible/],
    ["oldest-utils-resync", false, /does not report quorum/],
    ["secondary-only", false, /Primary of none of its 2 DRBD resources/],
    ["no-resources", false, /no DRBD resources on this host/],
  ];
  for (const [fixture, veto, because] of table) {
    it(`${fixture}: ${veto ? "veto" : "no veto"}`, () => {
      const judgement = judgeDrbdVeto(events2(fixture), options());
      expect(judgement.veto).toBe(veto);
      expect(judgement.summary).toMatch(because);
    });
  }

  it("no veto where quorum is configured off: DRBD reports quorum:yes but stops no writer", () => {
    const judgement = judgeDrbdVeto(events2("two-node-healthy"), options({ quorumOff: [R1] }));
    expect(judgement.veto).toBe(false);
    expect(judgement.summary).toContain(`${R1}: quorum off: DRBD does not stop a writer that lost its peers`);
    expect(judgeDrbdVeto(events2("two-node-healthy"), options()).veto).toBe(true);
  });

  it("no veto while a resource allows two primaries (CloudStack's live migration), naming the peer", () => {
    const judgement = judgeDrbdVeto(events2("three-node-tiebreaker"), options({ twoPrimaries: [R1] }));
    expect(judgement.veto).toBe(false);
    expect(judgement.summary).toContain("allow-two-primaries with kvm-b (a live migration): a second writer is possible");
  });

  it("no veto for a Primary resource that drbdsetup show does not list", () => {
    const judgement = judgeDrbdVeto(events2("three-node-tiebreaker"), options({}, ["cs-7b9e0d14-3a2f-4e6b-8c1d-5f4a2e9b7c30"]));
    expect(judgement.veto).toBe(false);
    expect(judgement.summary).toContain("not in drbdsetup show");
  });

  it("keeps the evidence of every Primary resource", () => {
    const judgement = judgeDrbdVeto(events2("resync-sync-target"), options());
    expect(judgement.primaries).toEqual([
      {
        resource: R1,
        ok: true,
        facts: ["quorum:yes", "volume 0: local disk Inconsistent, data served by UpToDate peer kvm-b", "quorum majority, on-no-quorum suspend-io", "allow-two-primaries no"],
        blockers: [],
      },
    ]);
  });
});

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

describe("vetoes and deferrals in fence.jsonl", () => {
  it("are counted since the newest fence decision and described for hb fence last", async () => {
    const temp = await makeTempDir("hb-veto-log-");
    try {
      const state = temp.file("state");
      expect(await readNoFences(state)).toBeNull();
      await mkdir(state);
      const line = (fields: Record<string, unknown>) => appendFile(`${state}/fence.jsonl`, `${JSON.stringify(fields)}\n`);
      await line({ kind: "veto", id: "v0", check: "drbd-quorum", source: "kvmspheartbeat.sh", wallTime: "2026-11-26T09:00:00.000Z", detail: "before the fence" });
      await line({ kind: "decision", id: "d1" });
      await line({ kind: "fallback", id: "d1" });
      await line({ kind: "veto", id: "v1", check: "drbd-quorum", source: "kvmspheartbeat.sh", wallTime: "2026-11-26T10:00:00.000Z", detail: "quorum holds" });
      await line({ kind: "deferral", id: "v2", check: "hbd", source: "kvmheartbeat.sh", wallTime: "2026-11-26T10:05:00.000Z", detail: "hbd's verdict: pool-a healthy" });
      const summary = await readNoFences(state);
      expect(summary).toMatchObject({ afterDecision: "d1", count: 2, vetoed: 1, deferred: 1, byCheck: { "drbd-quorum": 1, storage: 0, hbd: 1 }, newest: { id: "v2" } });
      expect(describeNoFences(summary)).toBe(
        "Since then, 2 -c calls of the agent did not fence: 1 vetoed (drbd-quorum 1), 1 deferred to hbd.\n" +
          "  newest: 2026-11-26T10:05:00.000Z kvmheartbeat.sh (deferred): hbd's verdict: pool-a healthy\n",
      );
      expect(describeNoFences({ ...summary!, count: 0 })).toBe("");
    } finally {
      await temp.remove();
    }
  });
});
