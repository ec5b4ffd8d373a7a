import { describe, expect, it } from "vitest";
import { parseProperties, setProperty, unsetProperty } from "./index.js";


describe("lossless editing", () => {
  const mixed = "# comment\r\na=1\nkey = old value\r\n! bang\rb:2\n";

  it("changes only the value of the line Java reads, keeping every other byte and each line's ending", () => {
    expect(setProperty(mixed, "key", "new").text).toBe("# comment\r\na=1\nkey = new\r\n! bang\rb:2\n");
    expect(setProperty(mixed, "b", "3").text).toBe("# comment\r\na=1\nkey = old value\r\n! bang\rb:3\n");
  });

  it("is a byte-for-byte no-op when the value is already set", () => {
    const result = setProperty(mixed, "key", "old value");
    expect(result).toEqual({ text: mixed, changed: false });
  });

  it("appends a new key after a final newline, never onto a comment line (CloudStack PR #5239)", () => {
    expect(setProperty("# heartbeat.update.timeout=60000", "keystore.passphrase", "x").text).toBe("# heartbeat.update.timeout=60000\nkeystore.passphrase=x\n");
    expect(setProperty("a=1\r\nb=2\r\n", "c", "3").text).toBe("a=1\r\nb=2\r\nc=3\r\n");
    expect(setProperty("", "c", "3").text).toBe("c=3\n");
  });

  it("does not let an appended key become part of a value continued at the end of the file", () => {
    const result = setProperty("a=1 \\", "b", "2").text;
    expect(parseProperties(result).get("a")?.value).toBe("1 ");
    expect(parseProperties(result).get("b")?.value).toBe("2");
  });

  it("rewrites the last of duplicate keys (the one that counts)", () => {
    expect(setProperty("k=1\nk=2\nz=0\n", "k", "3").text).toBe("k=1\nk=3\nz=0\n");
  });

  it("collapses a value continued over several lines into one line", () => {
    expect(setProperty("a=1\nmulti=one \\\n   two\nz=9", "multi", "x").text).toBe("a=1\nmulti=x\nz=9\n");
  });

  it("keeps a whitespace separator and gives a key-only line an =", () => {
    expect(setProperty("key value\n", "key", "v2").text).toBe("key v2\n");
    expect(setProperty("key\n", "key", "v2").text).toBe("key=v2\n");
  });

  it("removes every occurrence on unset, so an earlier duplicate does not come back", () => {
    const result = unsetProperty("k=1\r\na=2\nk=3", "k");
    expect(result.text).toBe("a=2\n");
    expect(parseProperties(result.text).get("k")).toBeUndefined();
    expect(unsetProperty("a=1\n", "missing")).toEqual({ text: "a=1\n", changed: false });
  });

  // test/java.test.ts reads the same text back with the JDK.
  it("escapes keys and values so that they read back exactly as set, in ISO-8859-1-safe text", () => {
    const cases: [string, string][] = [
      ["plain", "60000"],
      ["key with spaces=and:colons", " leading blank, trailing blank "],
      ["#hash.key", "back\\slash \t tab \n newline"],
      ["unicode", "café ☃ 😀"],
    ];
    let text = "# edited\n";
    for (const [key, value] of cases) text = setProperty(text, key, value).text;
    for (const [key, value] of cases) expect(parseProperties(text).get(key)?.value).toBe(value);
    expect([...text].every((char) => char.charCodeAt(0) < 0x80)).toBe(true); // ISO-8859-1-safe
  });

  it("refuses an empty key", () => {
    expect(() => setProperty("a=1\n", "", "x")).toThrow(expect.objectContaining({ code: "PROPERTY_EDIT" }));
  });
});
