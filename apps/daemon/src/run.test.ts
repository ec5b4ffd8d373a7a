import { describe, expect, it } from "vitest";
import { run } from "./run.js";

function capture() {
  const out = { stdout: "", stderr: "" };
  return { out, deps: { stdout: (t: string) => void (out.stdout += t), stderr: (t: string) => void (out.stderr += t), version: "9.9.9" } };
}

describe("hbd", () => {
  it("refuses to start rather than pretend to protect the host", async () => {
    const { out, deps } = capture();
    expect(await run([], deps)).toBe(2);
    expect(out.stderr).toMatch(/not starting/);
  });

  it("prints its version and rejects unknown flags", async () => {
    const { out, deps } = capture();
    expect(await run(["--version"], deps)).toBe(0);
    expect(out.stdout).toBe("hbd 9.9.9\n");
    expect(await run(["--bogus"], deps)).toBe(2);
  });
});
