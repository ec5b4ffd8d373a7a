import { spawnSync } from "node:child_process";
import { chmod, lstat, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

/*
 * hb shims in a script folder where something other than a regular file sits in place of a
 * script or of its original: a FIFO (which a read would wait on forever), a device (root: mknod
 * in the temp folder), a symbolic link. hb refuses with one line naming it, and changes nothing.
 */

const SCRIPTS = ["kvmheartbeat.sh", "kvmspheartbeat.sh", "kvmvmactivity.sh"];
const ORIGINAL = (name: string) => `#!/bin/bash\n# upstream ${name}\nexit 0\n`;
const root = process.getuid?.() === 0;

type Plant = (path: string) => Promise<void>;
const PLANTS: [string, Plant, string][] = [
  ["a FIFO", async (path) => void expect(spawnSync("mkfifo", [path]).status).toBe(0), "is a FIFO, not a regular file"],
  ["a symbolic link", (path) => symlink("/etc/hostname", path), "is a symbolic link"],
  ...(root ? ([["a character device", async (path) => void expect(spawnSync("mknod", [path, "c", "1", "3"]).status).toBe(0), "is a character device, not a regular file"]] as [string, Plant, string][]) : []),
];

/** Every entry of the folder: name, kind, and content for regular files. */
async function snapshot(dir: string): Promise<string[]> {
  const entries: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const info = await lstat(join(dir, name));
    entries.push(`${name} ${info.mode.toString(8)} ${info.isFile() ? await readFile(join(dir, name), "utf8") : "(special)"}`);
  }
  return entries;
}

describe("hb shims with planted files", () => {
  let dir: TempDir;
  const shims = (...argv: string[]) => runHb(["shims", ...argv]);

  beforeEach(async () => {
    dir = await makeTempDir("hb-shims-planted-");
    for (const name of SCRIPTS) {
      await writeFile(dir.file(name), ORIGINAL(name));
      await chmod(dir.file(name), 0o755);
    }
  });
  afterEach(() => dir.remove());

  it.each(PLANTS)("install refuses %s in place of a script, in one line, changing nothing", async (_what, plant, words) => {
    await rm(dir.file("kvmspheartbeat.sh"));
    await plant(dir.file("kvmspheartbeat.sh"));
    const before = await snapshot(dir.path);
    const result = await shims("install", "--dir", dir.path);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^hb: ${dir.file("kvmspheartbeat.sh")} ${words}.*\\n$`));
    expect(await snapshot(dir.path)).toEqual(before);
  });

  it.each(PLANTS)("install refuses %s in place of an original (NAME.orig), changing nothing", async (_what, plant, words) => {
    await plant(dir.file("kvmvmactivity.sh.orig"));
    const before = await snapshot(dir.path);
    const result = await shims("install", "--dir", dir.path, "--force");
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^hb: ${dir.file("kvmvmactivity.sh.orig")} ${words}.*\\n$`));
    expect(await snapshot(dir.path)).toEqual(before);
  });

  it.each(PLANTS)("uninstall refuses %s as an original: it would be put in place of the script", async (_what, plant, words) => {
    expect((await shims("install", "--dir", dir.path)).code).toBe(0);
    await rm(dir.file("kvmheartbeat.sh.orig"));
    await plant(dir.file("kvmheartbeat.sh.orig"));
    const before = await snapshot(dir.path);
    const result = await shims("uninstall", "--dir", dir.path);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^hb: ${dir.file("kvmheartbeat.sh.orig")} ${words}.*\\n$`));
    expect(await snapshot(dir.path)).toEqual(before);
  });

  it("status names a FIFO in place of a script instead of waiting on it", async () => {
    await rm(dir.file("kvmheartbeat.sh"));
    expect(spawnSync("mkfifo", [dir.file("kvmheartbeat.sh")]).status).toBe(0);
    const result = await shims("status", "--dir", dir.path);
    expect(result).toMatchObject({ code: 2, stderr: `hb: ${dir.file("kvmheartbeat.sh")} is a FIFO, not a regular file: not read\n` });
  });

  it("install refuses a script larger than any the agent ships, without reading it whole", async () => {
    await writeFile(dir.file("kvmheartbeat.sh"), `#!/bin/bash\n${"#".repeat(2 * 1024 * 1024)}\n`);
    const result = await shims("install", "--dir", dir.path);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/kvmheartbeat\.sh is larger than 1 MiB: not read\n$/) });
    await expect(lstat(dir.file("kvmheartbeat.sh.orig"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("an original without execute permission still gets an executable shim (the agent runs it by path)", async () => {
    await chmod(dir.file("kvmheartbeat.sh"), 0o644);
    expect((await shims("install", "--dir", dir.path)).code).toBe(0);
    expect((await lstat(dir.file("kvmheartbeat.sh"))).mode & 0o777).toBe(0o755);
    expect((await lstat(dir.file("kvmheartbeat.sh.orig"))).mode & 0o777).toBe(0o644);
  });
});
