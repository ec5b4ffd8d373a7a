import { describe, expect, it } from "vitest";
import { classifyResource, parseEvents2, type DrbdResourceState } from "./index.js";

/** One resource from events2 lines of drbd-utils 9.22 (the resource line's fields can be replaced). */
function resource(role: string, extra: { suspended?: string; device?: string; peer?: string; connection?: string; forceIo?: string } = {}): DrbdResourceState {
  const lines = [
    `exists resource name:r0 role:${role} suspended:${extra.suspended ?? "no"} force-io-failures:${extra.forceIo ?? "no"}`,
    `exists connection name:r0 peer-node-id:1 conn-name:hostB ${extra.connection ?? "connection:Connected role:Secondary"}`,
    `exists device name:r0 volume:0 minor:1000 ${extra.device ?? "disk:UpToDate client:no quorum:yes"}`,
    `exists peer-device name:r0 peer-node-id:1 conn-name:hostB volume:0 ${extra.peer ?? "replication:Established peer-disk:UpToDate peer-client:no"} resync-suspended:no`,
    "exists -",
  ];
  const [state] = parseEvents2(lines.join("\n")).resources;
  if (state === undefined) throw new Error("no resource");
  return state;
}

const factsOf = (state: DrbdResourceState) => classifyResource(state).evidence.filter((fact) => fact.verdict !== "healthy").map((fact) => [fact.field, fact.value, fact.verdict]);

describe("classifyResource", () => {
  it("keeps I/O suspended by an administrator or for fencing degraded, even on a Primary", () => {
    expect(factsOf(resource("Primary", { suspended: "user" }))).toEqual([["suspended", "user", "degraded"]]);
    expect(factsOf(resource("Primary", { suspended: "fencing" }))).toEqual([["suspended", "fencing", "degraded"]]);
    expect(classifyResource(resource("Primary", { suspended: "yes" })).evidence).toContainEqual(
      expect.objectContaining({ field: "suspended", value: "yes", verdict: "degraded", text: "I/O suspended (this drbd-utils does not say why)" }),
    );
  });

  it("makes a quorum loss lost on a Primary only; the same facts on a Secondary are degraded", () => {
    const noQuorum = { device: "disk:UpToDate client:no quorum:no", suspended: "quorum", connection: "connection:Connecting role:Unknown", peer: "replication:Off peer-disk:DUnknown peer-client:no" };
    expect(classifyResource(resource("Primary", noQuorum)).verdict).toBe("lost");
    expect(classifyResource(resource("Secondary", noQuorum)).verdict).toBe("degraded");
    expect(classifyResource(resource("Unknown", noQuorum)).verdict).toBe("degraded");
  });

  it("calls a diskless client without a connected UpToDate peer lost when Primary, degraded as a tiebreaker", () => {
    const alone = { device: "disk:Diskless client:yes quorum:yes", connection: "connection:Connecting role:Unknown", peer: "replication:Off peer-disk:DUnknown peer-client:no" };
    expect(factsOf(resource("Primary", alone))).toContainEqual(["disk", "Diskless", "lost"]);
    expect(classifyResource(resource("Secondary", alone)).verdict).toBe("degraded");
  });

  it("degrades for an online verify, a peer disk that is not UpToDate, blocked I/O and forced I/O failures", () => {
    expect(factsOf(resource("Primary", { peer: "replication:VerifyS peer-disk:UpToDate peer-client:no" }))).toEqual([["replication", "VerifyS", "degraded"]]);
    expect(factsOf(resource("Primary", { peer: "replication:Established peer-disk:Outdated peer-client:no" }))).toEqual([["peer-disk", "Outdated", "degraded"]]);
    expect(factsOf(resource("Primary", { device: "disk:UpToDate client:no quorum:yes blocked:lower" }))).toEqual([["blocked", "lower", "degraded"]]);
    expect(factsOf(resource("Secondary", { forceIo: "yes" }))).toEqual([["force-io-failures", "yes", "degraded"]]);
  });

  it("does not count a diskless tiebreaker peer against the resource", () => {
    expect(classifyResource(resource("Primary", { peer: "replication:Established peer-disk:Diskless peer-client:yes" })).verdict).toBe("healthy");
    expect(factsOf(resource("Primary", { peer: "replication:Established peer-disk:Diskless peer-client:no" }))).toEqual([["peer-disk", "Diskless", "degraded"]]);
  });
});
