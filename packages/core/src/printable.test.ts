import { describe, expect, it } from "vitest";
import { printable } from "./index.js";

describe("printable", () => {
  it("keeps ordinary text, accents and symbols as they are", () => {
    expect(printable("pool-a é ✓ /mnt/x y")).toBe("pool-a é ✓ /mnt/x y");
  });

  it.each([
    ["a\nDECISION reboot", "a\\nDECISION reboot"],
    ["\u001b[2J\u001b[31mred", "\\e[2J\\e[31mred"],
    ["cr\rtab\tbell\u0007nul\u0000", "cr\\rtab\\tbell\\x07nul\\x00"],
    ["del\u007fc1\u009b", "del\\x7fc1\\x9b"],
    ["rtl\u202etxt.exe\u2066\u2028", "rtl\\u202etxt.exe\\u2066\\u2028"],
  ])("shows control characters as escapes: %j", (input, shown) => {
    expect(printable(input)).toBe(shown);
    expect(printable(input)).not.toMatch(/\p{Cc}/u);
  });
});
