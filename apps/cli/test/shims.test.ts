import { execFile } from "node:child_process";
import { chmod, readdir, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { inspectShims, installShims, shimText, thisHb } from "../src/lib/shims.js";
import { runHb } from "./harness.js";

const exec = promisify(execFile);
const SCRIPTS = ["kvmheartbeat.sh", "kvmspheartbeat.sh", "kvmvmactivity.sh", "kvmsmpheartbeat.sh"];
/** One of the agent's scripts that hb leaves alone. */
const OTHER = "resizevolume.sh";
const ORIGINAL = (name: string) => `#!/bin/bash\n# upstream ${name}\nexit 0\n`;

describe("hb shims", () => {
  let dir: TempDir;
  const shims = (...argv: string[]) => runHb(["shims", ...argv]);

  beforeEach(async () => {
    dir = await makeTempDir("hb-shims-");
    // The agent's script folder: upstream's heartbeat scripts and one hb does not touch.
    for (const name of [...SCRIPTS, OTHER]) {
      await writeFile(dir.file(name), ORIGINAL(name));
      await chmod(dir.file(name), 0o755);
    }
  });
  afterEach(() => dir.remove());

  it("installs executable shims that run `hb compat …`, keeping each original as NAME.orig", async () => {
    const result = await shims("install", "--dir", dir.path);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(SCRIPTS.map((name) => `${name}: installed, original kept as ${name}.orig\n`).join(""));
    for (const name of SCRIPTS) {
      expect(await readFile(dir.file(`${name}.orig`), "utf8")).toBe(ORIGINAL(name));
      expect((await stat(dir.file(name))).mode & 0o777).toBe(0o755);
    }
    expect(await readFile(dir.file(OTHER), "utf8")).toBe(ORIGINAL(OTHER));

    // The shim is what the agent executes: upstream's usage answer proves it reached hb compat.
    const usage = await exec(dir.file("kvmvmactivity.sh"), ["-x"]).catch((error: { code: number; stdout: string }) => error);
    expect(usage).toMatchObject({ code: 1, stdout: expect.stringMatching(/^Usage: kvmvmactivity\.sh /) });
    await expect(exec(dir.file("kvmheartbeat.sh"), ["-r"])).rejects.toMatchObject({ code: 1, stdout: "" });
  });

  it("is idempotent, and uninstall restores the originals byte for byte, also idempotently", async () => {
    await shims("install", "--dir", dir.path);
    const again = await shims("install", "--dir", dir.path);
    expect(again.stdout).toBe(SCRIPTS.map((name) => `${name}: already in place\n`).join(""));

    const removed = await shims("uninstall", "--dir", dir.path);
    expect(removed.stdout).toBe(SCRIPTS.map((name) => `${name}: original restored from ${name}.orig\n`).join(""));
    for (const name of SCRIPTS) expect(await readFile(dir.file(name), "utf8")).toBe(ORIGINAL(name));
    expect((await readdir(dir.path)).sort()).toEqual([...SCRIPTS, OTHER].sort());

    const twice = await shims("uninstall", "--dir", dir.path);
    expect(twice).toMatchObject({ code: 0, stdout: SCRIPTS.map((name) => `${name}: not installed\n`).join("") });
  });

  it("refuses, changing nothing, to overwrite a script it did not write when NAME.orig exists (an agent upgrade)", async () => {
    await shims("install", "--dir", dir.path);
    const upgraded = "#!/bin/bash\n# upstream kvmheartbeat.sh, next release\n";
    await writeFile(dir.file("kvmheartbeat.sh"), upgraded);
    const before = await snapshot(dir);

    const install = await shims("install", "--dir", dir.path);
    expect(install.code).toBe(2);
    expect(install.stderr).toMatch(/kvmheartbeat\.sh: not hb's shim, and kvmheartbeat\.sh\.orig exists already .*--force/);
    const uninstall = await shims("uninstall", "--dir", dir.path);
    expect(uninstall.code).toBe(2);
    expect(uninstall.stderr).toMatch(/restoring would overwrite a file hb did not write/);
    expect(await snapshot(dir)).toEqual(before);

    // --force: the new script becomes the original.
    expect((await shims("install", "--dir", dir.path, "--force")).stdout).toMatch(/kvmheartbeat\.sh: installed, original kept as kvmheartbeat\.sh\.orig \(replacing the previous one\)/);
    expect(await readFile(dir.file("kvmheartbeat.sh.orig"), "utf8")).toBe(upgraded);
  });

  it("works with dpkg-divert --rename: the original already at NAME.orig, NAME absent", async () => {
    for (const name of SCRIPTS) await rename(dir.file(name), dir.file(`${name}.orig`));
    expect((await shims("install", "--dir", dir.path)).stdout).toMatch(/kvmheartbeat\.sh: installed \(original already at kvmheartbeat\.sh\.orig\)/);
    expect((await inspectShims(dir.path)).inPlace).toBe(true);
  });

  it("installs where a script is missing and removes that shim again on uninstall", async () => {
    await unlink(dir.file("kvmspheartbeat.sh"));
    expect((await shims("install", "--dir", dir.path)).stdout).toMatch(/kvmspheartbeat\.sh: installed \(there was no original\)/);
    expect((await shims("uninstall", "--dir", dir.path)).stdout).toMatch(/kvmspheartbeat\.sh: shim removed \(there was no original\)/);
    expect(await readdir(dir.path)).not.toContain("kvmspheartbeat.sh");
  });

  it("reports whether the shims are in place and run this hb (status, and inspectShims for hb doctor)", async () => {
    expect((await inspectShims(dir.path)).scripts.map((script) => script.state)).toEqual(SCRIPTS.map(() => "original"));
    expect((await shims("status", "--dir", dir.path)).code).toBe(1);

    await installShims(dir.path);
    const installed = await inspectShims(dir.path);
    expect(installed).toMatchObject({ inPlace: true, scripts: SCRIPTS.map((name) => ({ name, state: "installed", original: true })) });
    expect(await shims("status", "--dir", dir.path)).toMatchObject({ code: 0, stdout: expect.stringMatching(/shims in place\n$/) });

    // A shim written for another hb (moved, or another node) is hb's but stale; install updates it.
    const other = { argv: ["/opt/old/node", "/opt/old/hb.js"] };
    await writeFile(dir.file("kvmvmactivity.sh"), shimText("kvmvmactivity.sh", other));
    const stale = await inspectShims(dir.path);
    expect(stale.inPlace).toBe(false);
    expect(stale.scripts.find((script) => script.name === "kvmvmactivity.sh")).toMatchObject({ state: "stale", runs: "'/opt/old/node' '/opt/old/hb.js' compat kvmvmactivity \"$@\"" });
    expect(JSON.parse((await shims("status", "--dir", dir.path, "--json")).stdout)).toMatchObject({ inPlace: false });
    expect((await shims("install", "--dir", dir.path)).stdout).toMatch(/kvmvmactivity\.sh: updated to run this hb \(was: '\/opt\/old\/node'/);
    expect((await inspectShims(dir.path)).inPlace).toBe(true);
  });

  it("quotes the command it runs, so any path works", () => {
    expect(shimText("kvmheartbeat.sh", { argv: ["/opt/it's here/hb"] })).toContain(`exec '/opt/it'\\''s here/hb' compat kvmheartbeat "$@"\n`);
    expect(() => shimText("kvmheartbeat.sh", { argv: ["/opt/a\nb"] })).toThrow(expect.objectContaining({ code: "REFUSED" }));
    expect(thisHb().argv[1]).toMatch(/apps\/cli\/bin\/hb\.js$/);
  });

  it("names usage mistakes and a folder that does not exist", async () => {
    expect((await shims("install")).stderr).toMatch(/--dir is required/);
    expect((await shims("uninstall", "--dir", dir.path, "--force")).stderr).toMatch(/--force is for install only/);
    expect(await shims("install", "--dir", dir.file("absent"))).toMatchObject({ code: 2, stderr: expect.stringMatching(/is not a folder/) });
  });
});

async function snapshot(dir: TempDir): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of (await readdir(dir.path)).sort()) files[name] = await readFile(dir.file(name), "utf8");
  return files;
}
