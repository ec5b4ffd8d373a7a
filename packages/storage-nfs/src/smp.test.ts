import { describe, expect, it } from "vitest";
import { findCoveringMount, parseMountTable, smpMountProblem } from "./index.js";

const table = parseMountTable(
  [
    "/dev/sda1 / ext4 rw 0 0",
    "/dev/mapper/vg-gfs /mnt/gfs2 gfs2 rw,noatime 0 0",
    "/dev/sdb1 /var/lib/libvirt/images xfs rw 0 0",
    "ceph@.fs=/ /mnt/ceph ceph rw 0 0",
    "tmpfs /mnt/ceph/scratch tmpfs rw 0 0",
  ].join("\n"),
);

describe("findCoveringMount", () => {
  it("is the longest mount target at or above the path, never a sibling whose name merely starts the same", () => {
    expect(findCoveringMount(table, "/mnt/gfs2")?.type).toBe("gfs2");
    expect(findCoveringMount(table, "/mnt/gfs2/pool-a")?.type).toBe("gfs2");
    expect(findCoveringMount(table, "/mnt/gfs22")?.target).toBe("/");
    expect(findCoveringMount(table, "/mnt/ceph/scratch/x")?.type).toBe("tmpfs");
  });
});

describe("smpMountProblem: a SharedMountPoint heartbeat counts only on a shared filesystem", () => {
  it("passes a cluster filesystem mounted at the pool or above it", () => {
    expect(smpMountProblem(table, "/mnt/gfs2", "mounts")).toBeNull();
    expect(smpMountProblem(table, "/mnt/ceph/pool", "mounts")).toBeNull();
  });

  it("refuses the root filesystem (the cluster filesystem is not mounted) and local filesystems", () => {
    expect(smpMountProblem(table, "/mnt/gone", "mounts")).toMatch(/not on a mounted filesystem \(per mounts\).*local disk/);
    expect(smpMountProblem(table, "/var/lib/libvirt/images", "mounts")).toMatch(/local xfs filesystem/);
    expect(smpMountProblem(table, "/mnt/ceph/scratch", "mounts")).toMatch(/local tmpfs filesystem/);
    expect(smpMountProblem([], "/mnt/gfs2", "mounts")).toMatch(/not on a mounted filesystem/);
  });
});
