import { describe, expect, it } from "vitest";
import { parseHbdStatus, readStatus, type StatusDocument } from "./status.js";

// A document as hbd sends it: typed as the protocol's StatusDocument, so a field hbd drops or renames fails to compile here too.
const document: StatusDocument = {
  version: "0.1.0",
  healthy: true,
  healthProblems: [],
  statusEndpoint: { listen: "127.0.0.1:9746", bound: true, error: null },
  config: { path: "/etc/cloudstack/agent/agent.properties", loadedAt: "2026-11-30T08:00:00.000Z", stale: null },
  discovery: { state: "ok", since: "2026-11-30T08:00:00.000Z", error: null, failures: 0 },
  startedAt: "2026-11-30T08:00:00.000Z",
  action: "reboot",
  fences: true,
  dryRun: false,
  maintenance: null,
  watchdog: { mode: "off", armed: false, timeoutSeconds: null },
  eventLoopLagP99Ms: 10.2,
  stuckChildren: 0,
  decisions: [{ at: "2026-11-30T08:05:00.000Z", target: "pool-a", action: "reboot", isFence: true, mode: "dry-run", reason: "5 failures" }],
  vetoes: { total: 1, vetoed: 1, deferred: 0, byCheck: { "drbd-quorum": 1, storage: 0, hbd: 0 }, last: { at: "2026-11-30T08:04:00.000Z", outcome: "vetoed", check: "drbd-quorum", source: "kvmspheartbeat.sh", target: "LINSTOR", detail: "quorum holds" } },
  targets: [
    {
      id: "pool-a",
      kind: "nfs",
      mountPoint: "/mnt/pool-a",
      state: "healthy",
      armed: true,
      lastGoodAt: "2026-11-30T08:06:00.000Z",
      lastGoodAgeMs: 1200,
      consecutiveFailures: 0,
      inconclusiveAttempts: 2,
      latencyMs: { count: 3, p50: 4, p99: 9, max: 9 },
      decisionAtTheLatest: "2026-11-30T08:12:00.000Z",
      lastChange: { atMs: 5, target: "pool-a", from: null, to: "healthy", reason: "first success" },
    },
    { id: "linstor", kind: "linstor", state: "slow", armed: false, lastGoodAt: null, lastGoodAgeMs: null, consecutiveFailures: 0, inconclusiveAttempts: 0, latencyMs: { count: 0, p50: null, p99: null, max: null }, decisionAtTheLatest: null, lastChange: null },
  ],
};

describe("the status document", () => {
  it("reads back exactly what hbd sends", () => {
    // Through JSON, as it travels: what goes in comes out, field for field.
    expect(readStatus(JSON.parse(JSON.stringify(document)))).toEqual(document);
    expect(parseHbdStatus(JSON.parse(JSON.stringify(document)))).toEqual(document);
  });

  it("reads a missing healthy as null (not healthy), a missing maintenance as off and an odd one as unreadable", () => {
    const { healthy: _healthy, maintenance: _maintenance, ...older } = document;
    expect(readStatus(older)).toMatchObject({ healthy: null, maintenance: null });
    expect(readStatus({ ...document, healthy: "yes", maintenance: "on" })).toMatchObject({ healthy: null, maintenance: "unreadable" });
  });

  it("reads any value, odd fields as their fallbacks, without throwing", () => {
    for (const value of [null, 7, "status", [], { targets: "pool-a", decisions: [null, 3], watchdog: null, config: { stale: "yes" }, vetoes: { vetoed: "many" } }]) {
      const reading = readStatus(value);
      expect(reading.decisions.every((decision) => decision === null)).toBe(true);
      expect(reading.targets).toBeNull();
    }
    const odd = readStatus({ targets: [null, { kind: "nfs", lastGoodAgeMs: "old", latencyMs: null, lastChange: 7 }], config: { stale: "yes" }, vetoes: { vetoed: "many" } });
    expect(odd.targets).toEqual([null, expect.objectContaining({ id: null, kind: "nfs", lastGoodAgeMs: null, latencyMs: null, lastChange: null, armed: false })]);
    expect(odd.config).toEqual({ path: null, loadedAt: null, stale: null });
    expect(odd.vetoes).toMatchObject({ vetoed: null, byCheck: null });
  });

  it("is not hbd's status without a version, a list of pools, and an id and a kind for each pool", () => {
    for (const value of [null, [], "x", { ...document, version: 1 }, { ...document, targets: null }, { ...document, targets: [null] }, { ...document, targets: [{ id: "a" }] }, { ...document, targets: [{ kind: "nfs" }] }]) {
      expect(parseHbdStatus(value)).toBeNull();
    }
    expect(parseHbdStatus({ version: "0.0.1", targets: [] })).toMatchObject({ version: "0.0.1", healthy: null, targets: [] });
  });

  it("keeps hostile strings as they are (escaping is the printer's job) and drops a mountPoint that is not text", () => {
    const reading = parseHbdStatus({ version: "1", targets: [{ id: "pool\nDECISION", kind: "nfs", mountPoint: 7, lastChange: { reason: "\u001b[2J" } }] });
    expect(reading?.targets[0]).toMatchObject({ id: "pool\nDECISION", lastChange: { reason: "\u001b[2J" } });
    expect(reading?.targets[0]?.mountPoint).toBeUndefined();
  });
});
