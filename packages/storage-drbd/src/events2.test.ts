import { describe, expect, it } from "vitest";
import { DrbdOutputError, parseEvents2, splitEventFields } from "./index.js";

const RESOURCE = "exists resource name:r0 role:Primary suspended:no force-io-failures:no may_promote:no promotion_score:10102";
const DEVICE = "exists device name:r0 volume:0 minor:1000 backing_dev:/dev/vg/r0 disk:UpToDate client:no quorum:yes";
const CONNECTION = "exists connection name:r0 peer-node-id:1 conn-name:hostB connection:Connected role:Secondary";
const PEER = "exists peer-device name:r0 peer-node-id:1 conn-name:hostB volume:0 replication:Established peer-disk:UpToDate peer-client:no resync-suspended:no";

function outputError(text: string): DrbdOutputError {
  try {
    parseEvents2(text);
  } catch (error) {
    if (error instanceof DrbdOutputError) return error;
    throw error;
  }
  throw new Error("parsed without an error");
}

describe("events2 fields", () => {
  it("splits on the first colon and skips tokens without one", () => {
    const line = "exists connection name:vm-101-disk-1 peer-node-id:1 conn-name:node2 connection:Connected role:Primary stray";
    const fields = splitEventFields(line.split(" ").slice(2));
    expect(fields.get("conn-name")).toBe("node2");
    expect(fields.get("connection")).toBe("Connected");
    expect(fields.has("stray")).toBe(false);
    expect(splitEventFields(["local:ipv4:10.0.0.1:7000"]).get("local")).toBe("ipv4:10.0.0.1:7000");
  });
});

describe("parseEvents2", () => {
  it("reads the dump up to `exists -` into resources, devices, connections and peer devices", () => {
    const snapshot = parseEvents2([RESOURCE, CONNECTION, DEVICE, PEER, "exists -", ""].join("\n"));
    expect(snapshot).toEqual({
      source: "events2",
      resources: [
        {
          name: "r0",
          role: "Primary",
          suspended: false,
          suspendedReasons: [],
          forceIoFailures: false,
          mayPromote: false,
          promotionScore: 10102,
          devices: [{ volume: 0, minor: 1000, disk: "UpToDate", client: false, quorum: true }],
          connections: [
            {
              name: "hostB",
              peerNodeId: 1,
              state: "Connected",
              peerRole: "Secondary",
              peerDevices: [{ volume: 0, replication: "Established", peerDisk: "UpToDate", peerClient: false, resyncSuspended: "no" }],
            },
          ],
        },
      ],
    });
  });

  it("ignores unknown keys and objects, timestamps, and lines after `exists -`", () => {
    const text = [
      `2026-11-26T18:00:00.123456+00:00 ${RESOURCE} xxx:bla`,
      "2026-11-26T18:00:00.123456+00:00 exists helper name:r0 helper:before-resync-target",
      `2026-11-26T18:00:00.123456+00:00 ${DEVICE} frobnicated:yes`,
      "2026-11-26T18:00:00.123456+00:00 exists -",
      "change resource name:r0 role:Secondary",
    ].join("\n");
    const [resource] = parseEvents2(text).resources;
    expect(resource).toMatchObject({ role: "Primary", devices: [{ disk: "UpToDate", quorum: true }] });
  });

  it("reads every reason of `suspended:` and treats a bare yes as suspended for an unknown reason", () => {
    const suspended = (value: string) => parseEvents2(`${RESOURCE.replace("suspended:no", `suspended:${value}`)}\nexists -\n`).resources[0];
    expect(suspended("user,quorum")).toMatchObject({ suspended: true, suspendedReasons: ["user", "quorum"] });
    expect(suspended("no-data")).toMatchObject({ suspended: true, suspendedReasons: ["no-data"] });
    expect(suspended("yes")?.suspended).toBe(true);
    expect(suspended("yes")?.suspendedReasons).toBeUndefined();
  });

  it("reads `client:unknown` as not known rather than as a boolean", () => {
    const [resource] = parseEvents2(`${RESOURCE}\n${DEVICE.replace("client:no", "client:unknown")}\nexists -\n`).resources;
    expect(resource?.devices[0]?.client).toBeUndefined();
  });

  it("refuses a dump without its `exists -` end", () => {
    expect(outputError(`${RESOURCE}\n${DEVICE}\n`).message).toBe("drbdsetup events2 --now: no `exists -` line: the state dump is incomplete");
    expect(outputError("").message).toContain("no `exists -` line");
  });

  it("refuses a line that is not an events2 line, naming it", () => {
    const error = outputError(`${RESOURCE}\nmodprobe: FATAL: Module drbd not found\nexists -\n`);
    expect(error.line).toBe(2);
    expect(error.code).toBe("DRBD_OUTPUT");
    expect(error.message).toBe('drbdsetup events2 --now: line 2 is not an events2 line: "modprobe: FATAL: Module drbd not found"');
  });

  it("refuses a missing required field or a bad number, naming line and field", () => {
    expect(outputError(`exists resource name:r0 suspended:no\nexists -\n`).message).toBe("drbdsetup events2 --now: line 1: resource line with no role: field");
    expect(outputError(`${RESOURCE}\n${DEVICE.replace("volume:0", "volume:zero")}\nexists -\n`).message).toBe(
      "drbdsetup events2 --now: line 2: device line with volume:zero is not a whole number",
    );
    expect(outputError(`${RESOURCE.replace("promotion_score:10102", "promotion_score:high")}\nexists -\n`).line).toBe(1);
  });

  it("refuses child lines whose resource or connection is not in the dump", () => {
    expect(outputError(`${DEVICE}\nexists -\n`).message).toBe("drbdsetup events2 --now: line 1: device line for resource r0, which has no resource line");
    expect(outputError(`${RESOURCE}\n${PEER}\nexists -\n`).message).toBe(
      "drbdsetup events2 --now: line 2: peer-device line for r0 conn-name:hostB, which has no connection line",
    );
    expect(outputError(`${RESOURCE}\n${RESOURCE}\nexists -\n`).message).toContain("resource r0 is listed twice");
  });
});
