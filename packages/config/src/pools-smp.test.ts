import { describe, expect, it } from "vitest";
import { parseDeclaredPools } from "./pools.js";

describe("hb.pools: smp:PATH", () => {
  it("declares a SharedMountPoint pool by its path, named by the path's last folder", () => {
    expect(parseDeclaredPools("smp:/mnt/gfs2/5f1c; nfs:/mnt/a")).toEqual({
      pools: [
        { kind: "smp", id: "5f1c", mountPoint: "/mnt/gfs2/5f1c", source: "declared" },
        { kind: "nfs", id: "a", mountPoint: "/mnt/a", source: "declared" },
      ],
      problems: [],
    });
  });

  it("reports a relative path, a path with .., and an empty one, and keeps the rest", () => {
    const { pools, problems } = parseDeclaredPools("smp:mnt/x;smp:/mnt/../etc;smp:;smp:/mnt/ok");
    expect(pools).toEqual([{ kind: "smp", id: "ok", mountPoint: "/mnt/ok", source: "declared" }]);
    expect(problems.map((problem) => problem.entry)).toEqual(["smp:mnt/x", "smp:/mnt/../etc", "smp:"]);
    expect(problems[0]?.message).toMatch(/expected smp:PATH/);
  });
});
