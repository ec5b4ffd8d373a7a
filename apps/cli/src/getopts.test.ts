import { describe, expect, it } from "vitest";
import { flag, getopts, optionValue } from "./getopts.js";

const KVMHEARTBEAT = "i:p:m:h:t:rc";

describe("getopts, as upstream's scripts parse flags", () => {
  it("reads separate and attached values and combined flags", () => {
    const result = getopts(KVMHEARTBEAT, ["-i", "10.0.0.2", "-p/export", "-m", "/mnt/p", "-h", "10.0.0.5", "-rc", "-t60"]);
    expect(optionValue(result, "i")).toBe("10.0.0.2");
    expect(optionValue(result, "p")).toBe("/export");
    expect(optionValue(result, "t")).toBe("60");
    expect(flag(result, "r") && flag(result, "c")).toBe(true);
    expect(optionValue(result, "h")).toBe("10.0.0.5");
  });

  it("lets a flag group end in an option that takes the rest as its value", () => {
    const result = getopts(KVMHEARTBEAT, ["-rt", "60", "-ri10.0.0.2"]);
    expect(optionValue(result, "t")).toBe("60");
    expect(optionValue(result, "i")).toBe("10.0.0.2");
  });

  it("stops at the first operand or at --, and takes a value that looks like a flag", () => {
    expect(getopts(KVMHEARTBEAT, ["-r", "extra", "-c"]).operands).toEqual(["extra", "-c"]);
    expect(getopts(KVMHEARTBEAT, ["--", "-c"]).operands).toEqual(["-c"]);
    expect(optionValue(getopts(KVMHEARTBEAT, ["-h", "-c"]), "h")).toBe("-c");
  });

  it("refuses an unknown flag and a missing value", () => {
    expect(() => getopts(KVMHEARTBEAT, ["-x"])).toThrow("illegal option -- x");
    expect(() => getopts(KVMHEARTBEAT, ["-r", "-i"])).toThrow("option requires an argument -- i");
    expect(() => getopts("c", ["-r"])).toThrow("illegal option -- r");
  });

  it("keeps the last of a repeated option", () => {
    expect(optionValue(getopts(KVMHEARTBEAT, ["-i", "a", "-i", "b"]), "i")).toBe("b");
  });
});
