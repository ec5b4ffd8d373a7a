import { MOUNT_TABLE as TABLE } from "@hb/testkit";
import { describe, expect, it } from "vitest";
import { findNfsMount, parseMountTable } from "./index.js";

describe("the mount table", () => {
  const entries = parseMountTable(TABLE);

  it("is parsed with its octal escapes", () => {
    expect(entries).toHaveLength(6);
    expect(entries[4]).toEqual({ source: "10.0.0.3:/export/with space", target: "/mnt/with space", type: "nfs", options: ["rw"] });
  });

  it("matches the pool's mount point exactly, not as a substring, and only NFS", () => {
    expect(findNfsMount(entries, "/mnt/4f1c")?.source).toBe("10.0.0.2:/export/primary");
    expect(findNfsMount(entries, "/mnt/4f1c/")?.source).toBe("10.0.0.2:/export/primary");
    expect(findNfsMount(entries, "/mnt/4f1")).toBeUndefined();
    expect(findNfsMount(entries, "/mnt")).toBeUndefined();
    expect(findNfsMount(entries, "/mnt/local")).toBeUndefined();
    expect(findNfsMount(entries, "/mnt/with space")?.type).toBe("nfs");
    expect(findNfsMount(entries, "/mnt/fuse")?.type).toBe("fuse.fuse-nfs");
  });

  it("takes the topmost of two mounts at one path", () => {
    const stacked = parseMountTable("a:/x /mnt/p nfs rw 0 0\n/dev/sdc /mnt/p ext4 rw 0 0\nb:/y /mnt/p nfs4 rw 0 0\n");
    expect(findNfsMount(stacked, "/mnt/p")?.source).toBe("b:/y");
  });
});
