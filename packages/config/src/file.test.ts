import { chmod, readdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { readPropertiesFile, setProperty, writePropertiesFile } from "./index.js";

const temp = await makeTempDir("hb-file-");
afterAll(() => temp.remove());

describe("properties files", () => {
  it("names the path of a missing file in a CONFIG_FILE error", async () => {
    const missing = temp.file("nope.properties");
    await expect(readPropertiesFile(missing)).rejects.toMatchObject({ code: "CONFIG_FILE", path: missing, message: expect.stringContaining(missing) });
  });

  it("round-trips ISO-8859-1 bytes and keeps the file's mode, leaving no temporary file", async () => {
    const file = temp.file("agent.properties");
    const original = Buffer.from([...Buffer.from("# caf"), 0xe9, ...Buffer.from("\r\nname=na"), 0xef, ...Buffer.from("ve\nk=1\n")]);
    await writeFile(file, original);
    await chmod(file, 0o640);
    const doc = await readPropertiesFile(file);
    expect(doc.get("name")?.value).toBe("naïve");
    await writePropertiesFile(file, setProperty(doc.text, "k", "2").text);
    const written = await readFile(file);
    expect(written.subarray(0, original.length - 2)).toEqual(original.subarray(0, original.length - 2));
    expect(written.toString("latin1").endsWith("k=2\n")).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect((await readdir(temp.path)).filter((name) => name.includes(".hb-"))).toEqual([]);
  });

  it("replaces a symlinked file at its target and keeps the link", async () => {
    const target = temp.file("real.properties");
    const link = temp.file("link.properties");
    await writeFile(target, "a=1\n");
    await symlink(target, link);
    await writePropertiesFile(link, "a=2\n");
    expect(await readFile(target, "utf8")).toBe("a=2\n");
    expect((await readPropertiesFile(link)).get("a")?.value).toBe("2");
  });
});
