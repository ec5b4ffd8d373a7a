// @hb/config against the JDK on this machine: what java.util.Properties.load reads from the same
// files (src/properties.test.ts checks the expectations recorded from Java 17 without a JDK).
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { makeTempDir } from "@hb/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { readPropertiesFile, setProperty } from "../src/index.js";
import { javaAvailable, javaRead } from "./java.js";

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
const hasJava = await javaAvailable();
if (!hasJava) console.warn("SKIPPED: the JDK comparisons: no java on PATH");
const temp = await makeTempDir("hb-java-");
afterAll(() => temp.remove());

describe.skipIf(!hasJava)("java.util.Properties on this machine, live", () => {
  it("reads the sample files as we do", { timeout: 60_000 }, async () => {
    for (const name of ["tricky.properties", "upstream-template.properties", "invalid.properties"]) {
      const doc = await readPropertiesFile(fixture(name));
      expect(Object.fromEntries([...doc.entries.values()].map((entry) => [entry.key, entry.value])), name).toEqual(await javaRead(fixture(name)));
    }
  });

  it("reads back exactly what setProperty escaped", { timeout: 60_000 }, async () => {
    const cases: [string, string][] = [
      ["plain", "60000"],
      ["key with spaces=and:colons", " leading blank, trailing blank "],
      ["#hash.key", "back\\slash \t tab \n newline"],
      ["unicode", "café ☃ 😀"],
    ];
    let text = "# edited\n";
    for (const [key, value] of cases) text = setProperty(text, key, value).text;
    const file = temp.file("escaped.properties");
    await writeFile(file, Buffer.from(text, "latin1"));
    const java = await javaRead(file);
    for (const [key, value] of cases) expect(java[key], key).toBe(value);
  });
});
