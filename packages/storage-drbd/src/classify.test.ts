import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { classifyHost, parseEvents2, parseStatusJson, type HostVerdict, type Verdict, type VerdictEvidence } from "./index.js";
import { DRBD_FIXTURES, drbdFixture } from "@hb/testkit";

const R1 = "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41";
const R2 = "cs-7b9e0d14-3a2f-4e6b-8c1d-5f4a2e9b7c30";

type Fact = Partial<Pick<VerdictEvidence, "field" | "value" | "peer" | "volume" | "verdict">>;

interface Row {
  readonly fixture: string;
  readonly host: Verdict;
  readonly quorumLost?: boolean;
  readonly resources: Readonly<Record<string, Verdict>>;
  /** Facts that must be in the evidence, per resource: the reason, not just the verdict. */
  readonly facts?: Readonly<Record<string, readonly Fact[]>>;
}

// Every fixture under @hb/testkit's drbd/fixtures that holds DRBD state is a row here (checked below).
const TABLE: readonly Row[] = [
  { fixture: "two-node-healthy", host: "healthy", resources: { [R1]: "healthy", [R2]: "healthy" } },
  {
    fixture: "three-node-tiebreaker",
    host: "healthy",
    resources: { [R1]: "healthy" },
    facts: { [R1]: [{ field: "connection", value: "Connected", verdict: "healthy" }] },
  },
  {
    fixture: "diskless-client",
    host: "healthy",
    resources: { [R1]: "healthy", [R2]: "healthy" },
    facts: { [R1]: [{ field: "disk", value: "Diskless", verdict: "healthy" }] },
  },
  {
    fixture: "resync-sync-source",
    host: "degraded",
    resources: { [R1]: "degraded", [R2]: "degraded" },
    facts: {
      [R1]: [{ field: "replication", value: "SyncSource", peer: "kvm-b", volume: 0, verdict: "degraded" }],
      [R2]: [{ field: "replication", value: "PausedSyncS", peer: "kvm-b", verdict: "degraded" }],
    },
  },
  {
    fixture: "resync-sync-target",
    host: "degraded",
    resources: { [R1]: "degraded" },
    facts: { [R1]: [{ field: "disk", value: "Inconsistent", verdict: "degraded" }, { field: "replication", value: "SyncTarget", peer: "kvm-b", verdict: "degraded" }] },
  },
  {
    fixture: "congested",
    host: "degraded",
    resources: { [R1]: "degraded", [R2]: "degraded" },
    facts: { [R1]: [{ field: "congested", value: "yes", peer: "kvm-b" }], [R2]: [{ field: "replication", value: "Ahead", peer: "kvm-b" }] },
  },
  {
    fixture: "peer-connecting",
    host: "degraded",
    resources: { [R1]: "degraded" },
    facts: { [R1]: [{ field: "connection", value: "Connecting", peer: "kvm-c", verdict: "degraded" }, { field: "quorum", value: "yes" }] },
  },
  {
    fixture: "peer-standalone",
    host: "degraded",
    resources: { [R1]: "degraded" },
    facts: { [R1]: [{ field: "connection", value: "StandAlone", peer: "kvm-b", verdict: "degraded" }] },
  },
  {
    fixture: "quorum-lost-suspend-io",
    host: "lost",
    quorumLost: true,
    resources: { [R1]: "lost" },
    facts: { [R1]: [{ field: "quorum", value: "no", volume: 0, verdict: "lost" }, { field: "suspended", value: "quorum", verdict: "lost" }] },
  },
  {
    fixture: "quorum-lost-io-error",
    host: "lost",
    quorumLost: true,
    resources: { [R1]: "lost" },
    facts: { [R1]: [{ field: "quorum", value: "no", verdict: "lost" }] },
  },
  { fixture: "secondary-only", host: "healthy", resources: { [R1]: "healthy", [R2]: "healthy" } },
  {
    fixture: "secondary-quorum-lost",
    host: "degraded",
    resources: { [R1]: "healthy", [R2]: "degraded" },
    facts: { [R2]: [{ field: "quorum", value: "no", verdict: "degraded" }] },
  },
  {
    fixture: "older-utils-quorum-lost",
    host: "lost",
    quorumLost: true,
    resources: { [R1]: "lost" },
    facts: { [R1]: [{ field: "quorum", value: "no", verdict: "lost" }] },
  },
  {
    fixture: "oldest-utils-resync",
    host: "degraded",
    resources: { [R1]: "degraded" },
    facts: { [R1]: [{ field: "replication", value: "SyncSource", peer: "kvm-b" }] },
  },
  {
    fixture: "primary-detached",
    host: "degraded",
    resources: { [R1]: "degraded" },
    facts: { [R1]: [{ field: "disk", value: "Diskless", verdict: "degraded" }] },
  },
  {
    fixture: "primary-no-data",
    host: "lost",
    quorumLost: false,
    resources: { [R1]: "lost" },
    facts: { [R1]: [{ field: "disk", value: "Diskless", verdict: "lost" }, { field: "suspended", value: "no-data", verdict: "lost" }] },
  },
  { fixture: "no-resources", host: "healthy", resources: {} },
];

const RESYNC = ["resync-sync-source", "resync-sync-target", "oldest-utils-resync"];
const CONGESTION = ["congested"];
const QUORUM_LOSS = ["quorum-lost-suspend-io", "quorum-lost-io-error", "older-utils-quorum-lost"];

const STATE_FIXTURES = readdirSync(DRBD_FIXTURES).filter((name) => name.endsWith(".events2.txt") || name.endsWith(".status.json"));

async function verdicts(name: string): Promise<{ format: string; host: HostVerdict }[]> {
  const out: { format: string; host: HostVerdict }[] = [];
  if (STATE_FIXTURES.includes(`${name}.events2.txt`)) out.push({ format: "events2", host: classifyHost(parseEvents2(await drbdFixture(`${name}.events2.txt`))) });
  if (STATE_FIXTURES.includes(`${name}.status.json`)) out.push({ format: "status --json", host: classifyHost(parseStatusJson(await drbdFixture(`${name}.status.json`))) });
  return out;
}

describe("classification of every fixture", () => {
  it("has a row for every state fixture", () => {
    const named = new Set(TABLE.map((row) => row.fixture));
    const unclassified = STATE_FIXTURES.map((name) => name.replace(/\.(events2\.txt|status\.json)$/, "")).filter((name) => !named.has(name));
    expect(unclassified).toEqual([]);
  });

  for (const row of TABLE) {
    it(`${row.fixture}: ${row.host}`, async () => {
      const results = await verdicts(row.fixture);
      expect(results.length).toBeGreaterThan(0);
      for (const { format, host } of results) {
        expect({ format, verdict: host.verdict }).toEqual({ format, verdict: row.host });
        if (row.quorumLost !== undefined) expect(host.quorumLost).toBe(row.quorumLost);
        expect(Object.fromEntries(host.resources.map((resource) => [resource.name, resource.verdict]))).toEqual(row.resources);
        for (const [name, facts] of Object.entries(row.facts ?? {})) {
          const resource = host.resources.find((candidate) => candidate.name === name);
          for (const fact of facts) expect(resource?.evidence, `${format} ${name}`).toContainEqual(expect.objectContaining(fact));
        }
        // Every fact is in words and names its resource.
        for (const resource of host.resources) for (const fact of resource.evidence) expect(fact.text.length).toBeGreaterThan(5);
      }
    });
  }

  it("never calls a resync or congestion fixture lost, and calls every quorum loss lost", async () => {
    for (const name of [...RESYNC, ...CONGESTION]) for (const { host } of await verdicts(name)) expect(host.verdict).toBe("degraded");
    for (const name of QUORUM_LOSS) for (const { host } of await verdicts(name)) expect([host.verdict, host.quorumLost]).toEqual(["lost", true]);
  });

  it("reads the same verdict from events2 and from status --json of the same state", async () => {
    for (const row of TABLE) {
      const results = await verdicts(row.fixture);
      expect(new Set(results.map(({ host }) => host.verdict)).size).toBe(1);
    }
  });

  it("shows may_promote and promotion_score of current drbd-utils as evidence", async () => {
    const host = classifyHost(parseEvents2(await drbdFixture("quorum-lost-suspend-io.events2.txt")));
    const resource = host.resources[0];
    expect(resource).toMatchObject({ mayPromote: false, promotionScore: 0 });
    expect(resource?.evidence).toContainEqual(expect.objectContaining({ field: "promotion_score", value: "0", text: "may_promote:no promotion_score:0" }));
  });

  it("says why, in words, in the host summary", async () => {
    const lost = classifyHost(parseEvents2(await drbdFixture("quorum-lost-suspend-io.events2.txt")));
    expect(lost.summary).toBe(
      `1 resource, 1 Primary; ${R1}: volume 0: no quorum while Primary: DRBD fails or freezes its writes, I/O suspended for lack of quorum (on-no-quorum suspend-io): writes freeze`,
    );
    const resync = classifyHost(parseEvents2(await drbdFixture("resync-sync-target.events2.txt")));
    expect(resync.summary).toContain("resync from kvm-b, this host is the sync target, 61.08% done");
    expect(classifyHost(parseEvents2(await drbdFixture("no-resources.events2.txt"))).summary).toBe("no DRBD resources on this host");
  });
});
