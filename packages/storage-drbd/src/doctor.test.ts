import { describe, expect, it } from "vitest";
import { drbdFixture } from "@hb/testkit";
import { checkResourceOptions, DrbdOutputError, parseShowJson } from "./index.js";

const R1 = "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41";
const R2 = "cs-7b9e0d14-3a2f-4e6b-8c1d-5f4a2e9b7c30";
const R3 = "cs-c2d84e9f-6b1a-4f37-a0e5-9d3c7b2f1a68";

describe("parseShowJson", () => {
  it("reads quorum, the quorum-loss policies and allow-two-primaries per resource and connection", async () => {
    const options = parseShowJson(await drbdFixture("show-unsafe.json"));
    expect(options.map((resource) => [resource.name, resource.quorum, resource.onNoQuorum, resource.onNoDataAccessible, resource.allowTwoPrimaries])).toEqual([
      [R1, "off", "suspend-io", "io-error", false],
      [R2, "majority", "io-error", "io-error", false],
      [R3, "majority", "suspend-io", "suspend-io", true],
    ]);
    expect(options[2]?.connections).toEqual([
      { peer: "kvm-b", peerNodeId: 1, allowTwoPrimaries: true, fencing: "dont-care" },
      { peer: "kvm-c", peerNodeId: 2, allowTwoPrimaries: false, fencing: "dont-care" },
    ]);
  });

  it("accepts yes/no booleans and options left out", () => {
    const [resource] = parseShowJson(JSON.stringify([{ resource: "r0", connections: [{ net: { _name: "hostB", "allow-two-primaries": "yes" } }] }]));
    expect(resource).toEqual({ name: "r0", allowTwoPrimaries: true, connections: [{ peer: "hostB", allowTwoPrimaries: true }] });
  });

  it("refuses output it cannot read", () => {
    expect(() => parseShowJson("")).toThrow(DrbdOutputError);
    expect(() => parseShowJson("# No currently configured DRBD found.\n")).toThrow(/not JSON/);
    expect(() => parseShowJson(JSON.stringify([{ options: {} }]))).toThrow("drbdsetup show --show-defaults --json: resource #1: resource: expected string");
  });
});

describe("checkResourceOptions", () => {
  it("finds nothing unsafe in LINSTOR's quorum with suspend-io everywhere", async () => {
    const findings = checkResourceOptions(parseShowJson(await drbdFixture("show-safe.json")));
    expect(findings.filter((finding) => finding.level === "warning")).toEqual([]);
    expect(findings.map((finding) => [finding.resource, finding.option, finding.value])).toEqual([
      [R1, "on-no-quorum", "suspend-io"],
      [R2, "on-no-quorum", "suspend-io"],
    ]);
  });

  it("warns about quorum off and differing on-no-quorum / on-no-data-accessible, and notes dual-Primary", async () => {
    const findings = checkResourceOptions(parseShowJson(await drbdFixture("show-unsafe.json")));
    expect(findings.map((finding) => [finding.resource, finding.level, finding.option, finding.value])).toEqual([
      [R1, "warning", "quorum", "off"],
      [R1, "warning", "on-no-data-accessible", "io-error"],
      [R2, "note", "on-no-quorum", "io-error"],
      [R3, "note", "on-no-quorum", "suspend-io"],
      [R3, "note", "allow-two-primaries", "yes"],
    ]);
    expect(findings[1]?.text).toBe(
      "on-no-quorum suspend-io but on-no-data-accessible io-error: set both to the same value, or a loss of data and a loss of quorum treat the VMs differently",
    );
    expect(findings[4]?.text).toBe("dual-Primary allowed on the connection to kvm-b: expected only during a live migration");
  });

  it("warns when this drbd-utils does not show quorum at all", () => {
    const findings = checkResourceOptions(parseShowJson(JSON.stringify([{ resource: "r0", options: { "on-no-quorum": "io-error" } }])));
    expect(findings).toEqual([expect.objectContaining({ level: "warning", option: "quorum", value: "(not shown)" })]);
  });
});
