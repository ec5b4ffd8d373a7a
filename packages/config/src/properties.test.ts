import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { decodePropertiesBytes, parseProperties, readPropertiesFile } from "./index.js";

const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));

function asObject(path: string) {
  return readPropertiesFile(path).then((doc) => Object.fromEntries([...doc.entries.values()].map((entry) => [entry.key, entry.value])));
}

describe("parsing with java.util.Properties semantics", () => {
  it("reads the tricky sample exactly as Java 17 did (expectations recorded from the JDK)", async () => {
    const expected = JSON.parse(await readFile(fixture("tricky.java.json"), "utf8")) as Record<string, string>;
    expect(await asObject(fixture("tricky.properties"))).toEqual(expected);
  });

  it("keeps the line of the occurrence that won", async () => {
    const doc = await readPropertiesFile(fixture("tricky.properties"));
    expect(doc.get("dup")).toMatchObject({ value: "second", line: 27, occurrences: 2 });
    expect(doc.get("multi")).toMatchObject({ line: 14, endLine: 16 });
    expect(doc.get("cr")).toMatchObject({ line: 32 });
    expect(doc.get("after.cr")).toMatchObject({ line: 33 }); // a lone CR ends a line too
    expect(doc.get("last")).toMatchObject({ value: "no newline at end", line: 39 });
  });

  it("decodes bytes as ISO-8859-1, so no byte is ever a decoding error", () => {
    const doc = parseProperties(decodePropertiesBytes(Uint8Array.from([0x6b, 0x3d, 0xe9, 0xff, 0xc3, 0xa9])));
    expect(doc.get("k")?.value).toBe("é\u00ffÃ©");
  });

  it("reports a malformed \\u escape as a named error with its line, as Java refuses the file", () => {
    expect(() => parseProperties("a=1\n# \\uZZZZ in a comment is fine\nb=\\u12G4\n")).toThrow(
      expect.objectContaining({ code: "PROPERTIES_SYNTAX", line: 3 }),
    );
  });
});
