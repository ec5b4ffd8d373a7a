import { describe, expect, it } from "vitest";
import type { DaemonTarget, DaemonView } from "./hbd-client.js";
import { judgeDaemon } from "./one-owner.js";

const target = (kind: string, mountPoint: string, state: string): DaemonTarget => ({ id: mountPoint.split("/").at(-1) ?? "", kind, mountPoint, state, armed: true, lastGoodAt: null, lastGoodAgeMs: 1000, lastChange: null });
const view = (...targets: DaemonTarget[]): DaemonView => ({ address: "/run/hb/control.sock", version: "1.0.0", healthy: true, maintenance: null, targets });

describe("the one-owner rule for kvmsmpheartbeat.sh -c", () => {
  it("defers to hbd when it watches the SharedMountPoint pool at -m and it is healthy; acts on its dead verdict", () => {
    const storage = { kind: "smp", mountPoint: "/mnt/gfs2/" } as const;
    expect(judgeDaemon(view(target("smp", "/mnt/gfs2", "healthy")), storage)).toMatchObject({ kind: "defer" });
    expect(judgeDaemon(view(target("smp", "/mnt/gfs2", "dead")), storage)).toMatchObject({ kind: "dead" });
  });

  it("does not take an NFS pool at the same path for the SharedMountPoint pool (nor the reverse)", () => {
    expect(judgeDaemon(view(target("nfs", "/mnt/gfs2", "healthy")), { kind: "smp", mountPoint: "/mnt/gfs2" })).toMatchObject({ kind: "no-target", note: expect.stringContaining("SharedMountPoint pool") });
    expect(judgeDaemon(view(target("smp", "/mnt/gfs2", "healthy")), { kind: "nfs", mountPoint: "/mnt/gfs2" })).toMatchObject({ kind: "no-target" });
  });
});
