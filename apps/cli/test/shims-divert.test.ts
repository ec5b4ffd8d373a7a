import { execFile } from "node:child_process";
import { chmod, readdir, readFile, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

// The real dpkg-divert, on a dpkg database of the test's own (--admindir): what an operator's
// `hb shims install --divert` records is what dpkg obeys at the agent's next upgrade.
const exec = promisify(execFile);
const SCRIPTS = ["kvmheartbeat.sh", "kvmspheartbeat.sh", "kvmvmactivity.sh", "kvmsmpheartbeat.sh"];
const ORIGINAL = (name: string) => `#!/bin/bash\n# upstream ${name}\nexit 0\n`;

describe("hb shims --divert", () => {
  let dir: TempDir;
  let admin: TempDir;
  const shims = (...argv: string[]) => runHb(["shims", ...argv], { env: { AGENT_PROPS: admin.file("agent.properties") } });
  const diversions = async () => (await exec("dpkg-divert", ["--admindir", admin.path, "--list"])).stdout.trim().split("\n").filter(Boolean).sort();
  const truename = async (name: string) => (await exec("dpkg-divert", ["--admindir", admin.path, "--truename", dir.file(name)])).stdout.trim();

  beforeEach(async () => {
    dir = await makeTempDir("hb-divert-");
    admin = await makeTempDir("hb-dpkg-");
    for (const name of SCRIPTS) {
      await writeFile(dir.file(name), ORIGINAL(name));
      await chmod(dir.file(name), 0o755);
    }
  });
  afterEach(async () => {
    await dir.remove();
    await admin.remove();
  });

  it("install records each script as diverted to NAME.orig by hb, and uninstall takes the records back with the originals", async () => {
    const installed = await shims("install", "--divert", "--admindir", admin.path, "--dir", dir.path);
    expect(installed.code).toBe(0);
    expect(installed.stdout).toBe(SCRIPTS.map((name) => `${name}: installed, original kept as ${name}.orig\n`).join(""));
    expect(await diversions()).toEqual(SCRIPTS.map((name) => `diversion of ${dir.file(name)} to ${dir.file(`${name}.orig`)} by hb`).sort());
    // Where dpkg writes the agent's next kvmheartbeat.sh: beside the shim, not over it.
    for (const name of SCRIPTS) expect(await truename(name)).toBe(dir.file(`${name}.orig`));
    for (const name of SCRIPTS) expect(await readFile(dir.file(`${name}.orig`), "utf8")).toBe(ORIGINAL(name));
    expect(await readFile(dir.file("kvmheartbeat.sh"), "utf8")).toContain("compat kvmheartbeat");

    // Again: nothing new, nothing doubled.
    expect((await shims("install", "--divert", "--admindir", admin.path, "--dir", dir.path)).code).toBe(0);
    expect(await diversions()).toHaveLength(SCRIPTS.length);

    const removed = await shims("uninstall", "--divert", "--admindir", admin.path, "--dir", dir.path);
    expect(removed.code).toBe(0);
    expect(removed.stdout).toBe(SCRIPTS.map((name) => `${name}: original restored from ${name}.orig; diversion removed\n`).join(""));
    expect(await diversions()).toEqual([]);
    for (const name of SCRIPTS) expect(await readFile(dir.file(name), "utf8")).toBe(ORIGINAL(name));
    expect((await readdir(dir.path)).sort()).toEqual([...SCRIPTS].sort());
  });

  it("refuses, changing nothing, when a script is diverted elsewhere already (a hand-made diversion)", async () => {
    await exec("dpkg-divert", ["--admindir", admin.path, "--local", "--no-rename", "--divert", dir.file("kvmspheartbeat.sh.distrib"), "--add", dir.file("kvmspheartbeat.sh")]);
    const before = await diversions();
    const result = await shims("install", "--divert", "--admindir", admin.path, "--dir", dir.path);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/dpkg-divert --add .*kvmspheartbeat\.sh failed/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    // The diversion added before the clash is taken back; no file moved.
    expect(await diversions()).toEqual(before);
    expect((await readdir(dir.path)).sort()).toEqual([...SCRIPTS].sort());
    for (const name of SCRIPTS) expect(await readFile(dir.file(name), "utf8")).toBe(ORIGINAL(name));
  });

  it("says how to use the options it does not take together", async () => {
    expect(await shims("install", "--admindir", admin.path, "--dir", dir.path)).toMatchObject({ code: 2, stderr: expect.stringContaining("--admindir goes with --divert") });
    expect(await shims("status", "--divert", "--dir", dir.path)).toMatchObject({ code: 2, stderr: expect.stringContaining("--divert is for install and uninstall") });
    expect(await diversions()).toEqual([]);
  });
});
