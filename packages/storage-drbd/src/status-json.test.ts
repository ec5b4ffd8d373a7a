import { describe, expect, it } from "vitest";
import { drbdFixture } from "@hb/testkit";
import { DrbdOutputError, parseStatusJson } from "./index.js";

function message(text: string): string {
  try {
    parseStatusJson(text);
  } catch (error) {
    if (error instanceof DrbdOutputError) return error.message;
    throw error;
  }
  throw new Error("parsed without an error");
}

describe("parseStatusJson", () => {
  it("reads drbd-utils 9.22 output, with the suspended-* breakdown and a float percent-resync-done", async () => {
    const { resources } = parseStatusJson(await drbdFixture("resync-sync-target.status.json"));
    expect(resources[0]).toMatchObject({
      role: "Primary",
      suspended: false,
      suspendedReasons: [],
      devices: [{ volume: 0, disk: "Inconsistent", quorum: true, client: false }],
      connections: [{ name: "kvm-b", state: "Connected", peerDevices: [{ replication: "SyncTarget", peerDisk: "UpToDate", resyncSuspended: "no", resyncDonePercent: 61.08 }] }, { name: "kvm-c" }],
    });
  });

  it("reads older output without the suspended-* breakdown: the reason is unknown, not none", () => {
    const old = JSON.stringify([{ name: "r0", "node-id": 0, role: "Primary", suspended: true, "write-ordering": "flush", devices: [], connections: [] }]);
    const [resource] = parseStatusJson(old).resources;
    expect(resource?.suspended).toBe(true);
    expect(resource?.suspendedReasons).toBeUndefined();
    expect(parseStatusJson(old.replace("true", "false")).resources[0]?.suspendedReasons).toEqual([]);
  });

  it("reads the reasons of current output", async () => {
    const [resource] = parseStatusJson(await drbdFixture("quorum-lost-suspend-io.status.json")).resources;
    expect(resource).toMatchObject({ suspended: true, suspendedReasons: ["quorum"], devices: [{ quorum: false }] });
  });

  it("takes an empty or missing peer_devices for a peer that is not connected", async () => {
    const connecting = parseStatusJson(await drbdFixture("peer-connecting.status.json")).resources[0]?.connections[1];
    expect(connecting).toMatchObject({ name: "kvm-c", state: "Connecting", peerRole: "Unknown", peerDevices: [] });
    const missing = JSON.stringify([{ name: "r0", role: "Secondary", suspended: false, devices: [], connections: [{ name: "hostB", "connection-state": "StandAlone" }] }]);
    expect(parseStatusJson(missing).resources[0]?.connections[0]?.peerDevices).toEqual([]);
  });

  it("ignores unknown fields of newer drbd-utils (open, tls, paths)", async () => {
    const { resources } = parseStatusJson(await drbdFixture("three-node-tiebreaker.status.json"));
    expect(resources[0]?.devices[0]).toEqual({ volume: 0, minor: 1000, disk: "UpToDate", client: false, quorum: true, open: true });
  });

  it("reads no resources as an empty list", async () => {
    expect(parseStatusJson(await drbdFixture("no-resources.status.json")).resources).toEqual([]);
  });

  it("refuses output it cannot read, naming the resource and field", () => {
    expect(message("")).toBe("drbdsetup status --json: no output");
    expect(message("[\n{\n  \"name\": \"r0\",")).toMatch(/^drbdsetup status --json: not JSON \(/);
    expect(message('{"name": "r0"}')).toBe("drbdsetup status --json: not a JSON array of resources");
    const noState = JSON.stringify([{ name: "r0", role: "Primary", suspended: false, devices: [], connections: [{ name: "hostB" }] }]);
    expect(message(noState)).toBe("drbdsetup status --json: resource r0: connections[0].connection-state: expected string");
    const stringSuspended = JSON.stringify([{ name: "r0", role: "Primary", suspended: "no", devices: [], connections: [] }]);
    expect(message(stringSuspended)).toContain("resource r0: suspended:");
  });
});
