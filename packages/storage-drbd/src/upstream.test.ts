import { readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { classifyHost, DrbdOutputError, judgePeerFromDrbd, parseEvents2, parseStatusJson } from "./index.js";
import { DRBD_FIXTURES, drbdFixture } from "@hb/testkit";
import { upstreamPeerAlive, upstreamSelfHealthy } from "../test/upstream-rule.js";

const README = fileURLToPath(new URL("../README.md", import.meta.url));
const names = (suffix: string) =>
  readdirSync(DRBD_FIXTURES)
    .filter((name) => name.endsWith(suffix))
    .map((name) => name.slice(0, -suffix.length))
    .sort();

interface SelfRow {
  readonly fixture: string;
  readonly upstream: "healthy" | "unhealthy";
  readonly hb: string;
  readonly differs: boolean;
}

/** Upstream's self check and hb's host verdict on every events2 fixture. */
async function selfRows(): Promise<SelfRow[]> {
  const rows: SelfRow[] = [];
  for (const name of names(".events2.txt")) {
    const text = await drbdFixture(`${name}.events2.txt`);
    const upstream = upstreamSelfHealthy(text) ? "healthy" : "unhealthy";
    const hb = classifyHost(parseEvents2(text)).verdict;
    // Same outcome: upstream's unhealthy is a failed try, as hb's lost is; healthy and degraded both pass.
    rows.push({ fixture: name, upstream, hb, differs: (upstream === "unhealthy") !== (hb === "lost") });
  }
  return rows;
}

const PEERS = ["kvm-b", "kvm-c", "kvm-d", "KVM-B"];

/** How the peer asked about relates to this host's DRBD connections. */
function relation(statusJson: string, node: string): string {
  const names = (JSON.parse(statusJson) as { connections: { name: string }[] }[]).flatMap((resource) => resource.connections.map((connection) => connection.name));
  if (names.includes(node)) return "a peer with a shared resource";
  if (names.some((name) => name.toLowerCase() === node.toLowerCase())) return "a peer named in another case than DRBD's (KVM-B for kvm-b)";
  return "a peer that shares no DRBD resource with this host";
}

interface PeerGroup {
  readonly label: string;
  readonly upstream: string;
  readonly hb: string;
  readonly checks: string[];
}

/** Upstream's neighbour check and hb's DRBD answer for each peer on every status fixture, grouped where they differ. */
async function peerDifferences(): Promise<{ groups: PeerGroup[]; agreeing: number }> {
  const groups = new Map<string, PeerGroup>();
  let agreeing = 0;
  const note = (label: string, upstream: string, hb: string, check: string) => {
    if (upstream === hb) {
      agreeing++;
      return;
    }
    const key = `${label}|${upstream}|${hb}`;
    const group = groups.get(key) ?? { label, upstream, hb, checks: [] };
    group.checks.push(check);
    groups.set(key, group);
  };
  for (const name of names(".status.json")) {
    const text = await drbdFixture(`${name}.status.json`);
    for (const node of PEERS) {
      note(relation(text, node), upstreamPeerAlive(text, node) ? "alive" : "dead", judgePeerFromDrbd(parseStatusJson(text), node).answer, `${name} ${node}`);
    }
  }
  // Output drbdsetup printed but nobody can read: upstream logs it and answers dead.
  const garbled = (await drbdFixture("two-node-healthy.status.json")).slice(0, 200);
  let hb = "";
  try {
    parseStatusJson(garbled);
  } catch (error) {
    hb = error instanceof DrbdOutputError ? "no answer (DRBD_OUTPUT error)" : "crash";
  }
  note("any peer, when status --json is cut off", upstreamPeerAlive(garbled, "kvm-b") ? "alive" : "dead", hb, "two-node-healthy kvm-b, first 200 bytes");
  return { groups: [...groups.values()], agreeing };
}

async function renderComparison(): Promise<string> {
  const self = await selfRows();
  const lines = [
    "| fixture | upstream (`role:Primary … promotion_score:0`) | hb | outcome |",
    "|---|---|---|---|",
    ...self.map((row) => `| ${row.fixture} | ${row.upstream} | ${row.hb} | ${row.differs ? "**differs**" : "same"} |`),
    "",
  ];
  const { groups, agreeing } = await peerDifferences();
  lines.push("| peer asked about | upstream | hb (DRBD only) | checks |", "|---|---|---|---|");
  for (const group of groups) lines.push(`| ${group.label} | ${group.upstream} | ${group.hb} | ${group.checks.length} (e.g. ${group.checks[0] ?? ""}) |`);
  lines.push("", `The two neighbour checks agree on the other ${agreeing} checks.`);
  return lines.join("\n");
}

describe("hb against upstream's rules on the same fixtures", () => {
  it("agrees that a Primary without quorum or data fails, where upstream can see it", async () => {
    const rows = await selfRows();
    const byName = Object.fromEntries(rows.map((row) => [row.fixture, row]));
    expect(byName["quorum-lost-suspend-io"]).toMatchObject({ upstream: "unhealthy", hb: "lost", differs: false });
    expect(byName["quorum-lost-io-error"]).toMatchObject({ upstream: "unhealthy", hb: "lost", differs: false });
    expect(byName["primary-no-data"]).toMatchObject({ upstream: "unhealthy", hb: "lost", differs: false });
  });

  it("catches the quorum loss upstream misses on drbd-utils without promotion_score", async () => {
    const rows = await selfRows();
    expect(rows.filter((row) => row.differs)).toEqual([{ fixture: "older-utils-quorum-lost", upstream: "healthy", hb: "lost", differs: true }]);
  });

  it("answers unknown, not dead, for a peer that shares no resource; reads names in any case; refuses unreadable output", async () => {
    const { groups } = await peerDifferences();
    expect(groups.map(({ label, upstream, hb }) => [label, upstream, hb])).toEqual([
      ["a peer that shares no DRBD resource with this host", "dead", "unknown"],
      ["a peer named in another case than DRBD's (KVM-B for kvm-b)", "dead", "alive"],
      ["any peer, when status --json is cut off", "dead", "no answer (DRBD_OUTPUT error)"],
    ]);
    // kvm-d shares nothing anywhere: every fixture is a difference.
    expect(groups[0]?.checks.filter((check) => check.endsWith(" kvm-d"))).toHaveLength(names(".status.json").length);
  });

  // HB_UPDATE_GOLDEN=1 rewrites the README's table (review the diff before committing).
  it("is the table in the package README", async () => {
    const table = await renderComparison();
    const markers = /(<!-- upstream-comparison:start -->\n)[\s\S]*?(<!-- upstream-comparison:end -->)/;
    if (process.env.HB_UPDATE_GOLDEN === "1") await writeFile(README, (await readFile(README, "utf8")).replace(markers, `$1${table}\n$2`));
    const section = /<!-- upstream-comparison:start -->\n([\s\S]*?)\n<!-- upstream-comparison:end -->/.exec(await readFile(README, "utf8"))?.[1];
    expect(section).toBe(table);
  });
});
