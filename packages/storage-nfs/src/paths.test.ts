import { describe, expect, it } from "vitest";
import { heartbeatFilePath, validateHostId } from "./index.js";

describe("heartbeat file path", () => {
  it("is <mount>/KVMHA/hb-<host>, as upstream's scripts read it", () => {
    expect(heartbeatFilePath("/mnt/4f1c", "10.0.0.5")).toBe("/mnt/4f1c/KVMHA/hb-10.0.0.5");
    expect(heartbeatFilePath("/mnt/4f1c/", "fe80::1")).toBe("/mnt/4f1c/KVMHA/hb-fe80::1");
  });

  it.each([
    ["", /empty/],
    ["../etc", /\.\./],
    ["a/b", /contains \//],
    ["10.0.0.5\n", /control character/],
    ["host name", /not an address/],
  ])("refuses host id %j with a named error", (hostId, reason) => {
    expect(() => validateHostId(hostId)).toThrow(reason);
    try {
      validateHostId(hostId);
    } catch (error) {
      expect((error as { code: string }).code).toBe("INVALID_HOST_ID");
    }
  });
});
