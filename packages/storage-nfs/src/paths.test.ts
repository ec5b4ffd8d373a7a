import { describe, expect, it } from "vitest";
import { activityFilePath, heartbeatFilePath, recordFilePath, upstreamPaths, validateHostId, validateMountPoint } from "./index.js";

describe("heartbeat file path", () => {
  it("is <mount>/KVMHA/hb-<host>, as upstream's scripts read it", () => {
    expect(heartbeatFilePath("/mnt/4f1c", "10.0.0.5")).toBe("/mnt/4f1c/KVMHA/hb-10.0.0.5");
    expect(heartbeatFilePath("/mnt/4f1c/", "fe80::1")).toBe("/mnt/4f1c/KVMHA/hb-fe80::1");
    expect(recordFilePath("/mnt/4f1c", "10.0.0.5")).toBe("/mnt/4f1c/KVMHA/hbx-10.0.0.5.json");
    expect(activityFilePath("/mnt/4f1c", "10.0.0.5")).toBe("/mnt/4f1c/KVMHA/ac-10.0.0.5");
  });

  it("prints paths in messages exactly as upstream's scripts do", () => {
    expect(upstreamPaths.heartbeat("/mnt/4f1c", "10.0.0.5")).toBe("/mnt/4f1c/KVMHA//hb-10.0.0.5");
    expect(upstreamPaths.activity("/mnt/4f1c", "10.0.0.5")).toBe("/mnt/4f1c/KVMHA/ac-10.0.0.5");
  });

  it.each([
    ["", /empty/],
    ["../etc", /\.\./],
    ["a/b", /contains \//],
    ["10.0.0.5\n", /control character/],
    ["host name", /not an address/],
  ])("refuses host id %j with a named error", (hostId, reason) => {
    expect(() => validateHostId(hostId)).toThrow(reason);
    expect(() => validateHostId(hostId)).toThrow(expect.objectContaining({ code: "INVALID_HOST_ID" }));
  });

  it.each([
    ["", /empty/],
    ["mnt/pool", /not an absolute path/],
    ["/mnt/../etc", /\.\./],
    ["/mnt/po\nol", /control character/],
  ])("refuses mount point %j with a named error", (mountPoint, reason) => {
    expect(() => validateMountPoint(mountPoint)).toThrow(reason);
    expect(() => validateMountPoint(mountPoint)).toThrow(expect.objectContaining({ code: "INVALID_MOUNT_POINT" }));
  });

  it("takes a mount point with or without a trailing slash as the same path", () => {
    expect(validateMountPoint("/mnt/pool/")).toBe("/mnt/pool");
    expect(validateMountPoint("/mnt//pool")).toBe("/mnt/pool");
    expect(validateMountPoint("/")).toBe("/");
  });
});
