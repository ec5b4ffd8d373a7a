import { spawnSync } from "node:child_process";
import { chmod, lstat, readdir, readFile, readlink, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { PROPERTIES_MAX_BYTES, readPropertiesFile, setProperty, writePropertiesFile } from "./index.js";

const temp = await makeTempDir("hb-file-");
afterAll(() => temp.remove());
const isRoot = process.getuid?.() === 0;

/** A real special file in the temp folder (never /dev): a FIFO, or as root a device node. */
function special(name: string, ...args: string[]): string {
  const path = temp.file(name);
  const made = args.length === 0 ? spawnSync("mkfifo", [path]) : spawnSync("mknod", [path, "c", ...args]);
  expect(made.status).toBe(0);
  return path;
}

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
    expect(await readlink(link)).toBe(target);
  });

  it("refuses a FIFO as agent.properties at once (a plain read waits for a writer forever)", async () => {
    const fifo = special("fifo.properties");
    await expect(readPropertiesFile(fifo)).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "FIFO", message: `${fifo} is a FIFO, not a regular file: not read` });
    await expect(writePropertiesFile(fifo, "a=1\n")).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "FIFO" });
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it.runIf(isRoot)("refuses /dev/zero's device node as agent.properties, through a link too, without reading it", async () => {
    const zero = special("zero", "1", "5");
    const link = temp.file("zero.properties");
    await symlink(zero, link);
    await expect(readPropertiesFile(link)).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "character device" });
  });

  it.runIf(isRoot)("never replaces a device node with a regular file", async () => {
    const devNull = special("null", "1", "3");
    await expect(writePropertiesFile(devNull, "a=1\n")).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", message: `${devNull} is a character device, not a regular file: not replaced` });
    expect((await lstat(devNull)).isCharacterDevice()).toBe(true);
  });

  it(`refuses a file over PROPERTIES_MAX_BYTES (${PROPERTIES_MAX_BYTES}): FILE_TOO_LARGE`, async () => {
    const big = temp.file("big.properties");
    await writeFile(big, "a=1\n");
    await truncate(big, PROPERTIES_MAX_BYTES + 1);
    await expect(readPropertiesFile(big)).rejects.toMatchObject({ code: "FILE_TOO_LARGE", message: `${big} is larger than 1 MiB: not read` });
  });
});
