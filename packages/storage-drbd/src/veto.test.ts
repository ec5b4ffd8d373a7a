// The drbd-quorum veto of kvmspheartbeat.sh -c over every fixture class, with the options
// drbdsetup show gives for them.
import { readFileSync } from "node:fs";
import { DRBD_FIXTURES, drbdShowJson, type DrbdShowVariant } from "@hb/testkit";
import { describe, expect, it } from "vitest";
import { judgeDrbdVeto, parseEvents2, parseShowJson, type DrbdResourceOptions } from "./index.js";

const R1 = "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41";
const events2 = (name: string) => parseEvents2(readFileSync(`${DRBD_FIXTURES}${name}.events2.txt`, "utf8"));
const options = (variant: DrbdShowVariant = {}, names?: readonly string[]): DrbdResourceOptions[] => parseShowJson(drbdShowJson(names, variant));

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
