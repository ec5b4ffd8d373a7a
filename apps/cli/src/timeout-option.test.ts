import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { wholeNumberOption } from "./args.js";
import { runHb } from "../test/harness.js";

const temp = await makeTempDir("hb-timeout-");
afterAll(() => temp.remove());

describe("--timeout, in every command that takes it", () => {
  it.each([
    ["0", /--timeout 0: must be more than 0 ms/],
    ["9999999999", /--timeout 9999999999: too large: at most 3600000 ms/],
    ["3600001", /--timeout 3600001: too large: at most 3600000 ms/],
    ["99999999999999999999", /--timeout 99999999999999999999: too large/],
  ])("refuses %s with a named usage error", (value, message) => {
    expect(() => wholeNumberOption("timeout", value)).toThrow(expect.objectContaining({ code: "USAGE", message: expect.stringMatching(message) }));
  });

  it("takes 1 ms to an hour", () => {
    expect(wholeNumberOption("timeout", "1")).toBe(1);
    expect(wholeNumberOption("timeout", "3600000")).toBe(3_600_000);
  });

  it("refuses a whole number past what JavaScript holds exactly, for any option", () => {
    expect(() => wholeNumberOption("suspect-time", "99999999999999999999")).toThrow(expect.objectContaining({ code: "USAGE" }));
    expect(wholeNumberOption("suspect-time", "1764182400")).toBe(1_764_182_400);
  });

  it.each([
    [["nfs", "check", "--mount", "/nonexistent", "--host", "10.0.0.5"]],
    [["nfs", "write", "--mount", "/nonexistent"]],
    [["drbd", "health"]],
    [["drbd", "peer", "kvm-b"]],
  ])("hb %j --timeout 9999999999 / 0: exit 2, one line, no stack", async (argv) => {
    const file = temp.file("agent.properties");
    await writeFile(file, "hb.drbd.drbdsetup=/nonexistent/drbdsetup\nhb.host.ip=10.0.0.9\n");
    for (const timeout of ["9999999999", "0"]) {
      const { code, stdout, stderr } = await runHb([...argv, "--timeout", timeout, "--file", file]);
      expect([code, stdout]).toEqual([2, ""]);
      expect(stderr).toMatch(new RegExp(`^hb: --timeout ${timeout}: `));
      expect(stderr.split("\n").filter(Boolean)).toHaveLength(1);
    }
  });
});
