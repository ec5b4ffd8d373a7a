import { describe, expect, it } from "vitest";
import { parseDeclaredPools, parseProperties, resolveConfig } from "./index.js";

describe("hb.pools, as hbd reads it", () => {
  it("parses declared pools and reports the bad entries, keeping the rest", () => {
    const { pools, problems } = parseDeclaredPools(" nfs:/mnt/aa ; nfs:/mnt/bb@10.0.0.2:/export/p;linstor:linstor-a; ftp:/x; nfs:relative; nfs:/mnt/cc@host; nfs:/mnt/aa");
    expect(pools).toEqual([
      { kind: "nfs", id: "aa", mountPoint: "/mnt/aa", source: "declared" },
      { kind: "nfs", id: "bb", mountPoint: "/mnt/bb", server: "10.0.0.2", export: "/export/p", source: "declared" },
      { kind: "linstor", id: "linstor-a", source: "declared" },
    ]);
    expect(problems.map((p) => p.entry)).toEqual(["ftp:/x", "nfs:relative", "nfs:/mnt/cc@host", "aa"]);
    expect(parseDeclaredPools(null)).toEqual({ pools: [], problems: [] });
  });

  it("makes every entry hbd skips a problem of hb config validate, naming the entry", () => {
    const { values, problems } = resolveConfig(parseProperties("hb.pools=nfs:/mnt/aa; nfs:../etc; linstor:r 1\n"));
    expect(values["hb.pools"]).toBe("nfs:/mnt/aa; nfs:../etc; linstor:r 1");
    expect(problems.map((problem) => [problem.kind, problem.key, problem.line, problem.message])).toEqual([
      ["invalid", "hb.pools", 1, "nfs:../etc: the mount point must be an absolute path without ..; hbd skips it (pools kept: aa)"],
      ["invalid", "hb.pools", 1, "linstor:r 1: expected linstor:NAME (letters, digits, _ . -); hbd skips it (pools kept: aa)"],
    ]);
    expect(resolveConfig(parseProperties("hb.pools=nfs:/mnt/aa;linstor:r1\n")).problems).toEqual([]);
  });
});
