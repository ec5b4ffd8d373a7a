import { spawnSync } from "node:child_process";
import { chmod, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { ProcessExecutor, SystemClock, type Executor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";
import { NfsPool } from "./nfs-pool.js";

/*
 * hb nfs against planted files (real FIFOs, sockets and links in a temp folder) and mount
 * arguments that mount(8) would take for options.
 */

const now = () => Math.floor(Date.now() / 1000);
const fifo = (path: string) => expect(spawnSync("mkfifo", [path]).status).toBe(0);

describe("hb nfs with planted files and hostile arguments", () => {
  let dir: TempDir;
  let mount: string;
  let mounts: string;
  let properties: string;
  beforeEach(async () => {
    const pool = new NfsPool(await makeTempDir("hb-nfs-planted-"), "pool", (path) => `10.0.0.2:/export ${path} nfs rw 0 0\n`);
    await pool.prepare();
    ({ dir, mount, mounts, properties } = pool);
  });
  afterEach(() => dir.remove());

  const hb = (argv: readonly string[], executor: Executor = new ProcessExecutor()) => runHb(["nfs", ...argv, "--file", properties], { executor, clock: new SystemClock() });

  /** The real executor, with mount(8) a fake that records its argv (one per line) and mounts. */
  async function recordingMount(): Promise<{ readonly executor: Executor; readonly argv: () => Promise<string[] | null> }> {
    const fake = dir.file("mount");
    const args = dir.file("mount-args");
    await writeFile(fake, `#!/bin/sh\nprintf '%s\\n' "$@" > '${args}'\nprintf '%s %s nfs4 rw 0 0\\n' "$4" "$5" >> '${mounts}'\n`);
    await chmod(fake, 0o755);
    const real = new ProcessExecutor();
    return {
      executor: { run: (request) => real.run(request.file === "mount" ? { ...request, file: fake } : request) },
      argv: () => readFile(args, "utf8").then((text) => text.split("\n").slice(0, -1), () => null),
    };
  }

  it("scan skips a FIFO, a socket and a symbolic link planted in KVMHA/, says how many and why, and judges the rest", async () => {
    await writeFile(`${mount}/KVMHA/hb-10.0.0.1`, `${now() - 3}\n`);
    fifo(`${mount}/KVMHA/hb-10.0.0.9`);
    await symlink("/etc/hostname", `${mount}/KVMHA/hb-10.0.0.6`);
    spawnSync(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(`${mount}/KVMHA/hb-10.0.0.7`)}, () => process.exit(0))`]);
    // Names are printed so that none can forge a line or send escapes.
    await writeFile(`${mount}/KVMHA/hb-x\n10.0.0.3  DEAD`, "1\n");

    const result = await hb(["scan", "--mount", mount, "--max-age", "60", "--timeout", "20000"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^10\.0\.0\.1 +ALIVE/m);
    expect(result.stdout).toMatch(/1 host\(s\), 0 DEAD .*; ignored: hb-x\\n10\.0\.0\.3 {2}DEAD\n$/);
    expect(result.stdout).not.toMatch(/^10\.0\.0\.3/m);
    expect(result.stderr).toBe(`hb: warning: skipped 3 entries of ${mount}/KVMHA that are not regular files, left alone: hb-10.0.0.6 (symbolic link), hb-10.0.0.7 (socket), hb-10.0.0.9 (FIFO)\n`);

    const json = await hb(["scan", "--mount", mount, "--max-age", "60", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      hosts: 1,
      skipped: [
        { name: "hb-10.0.0.6", kind: "symbolic link" },
        { name: "hb-10.0.0.7", kind: "socket" },
        { name: "hb-10.0.0.9", kind: "FIFO" },
      ],
    });
  });

  it("check answers a FIFO heartbeat at once: cannot judge (empty), exit 2, not a timeout", async () => {
    fifo(`${mount}/KVMHA/hb-10.0.0.9`);
    const result = await hb(["check", "--mount", mount, "--host", "10.0.0.9", "--timeout", "20000"]);
    expect(result).toMatchObject({ code: 2, stdout: expect.stringMatching(/^10\.0\.0\.9: CANNOT JUDGE \(empty\)/) });
  });

  it("activity answers a FIFO ac file at once: cannot judge, exit 2, the FIFO left in place", async () => {
    await writeFile(`${mount}/KVMHA/hb-10.0.0.5`, `${now() - 300}\n`);
    await writeFile(`${mount}/vol-1`, "disk");
    fifo(`${mount}/KVMHA/ac-10.0.0.5`);
    const result = await hb(["activity", "--mount", mount, "--host", "10.0.0.5", "--volumes", "vol-1", "--suspect-time", String(now() - 100), "--timeout", "20000"]);
    expect(result.code).toBe(2);
    expect(result.stdout).toMatch(/CANNOT JUDGE \(ac-unreadable\): cannot read the ac file: .*ac-10\.0\.0\.5 is a FIFO, not a regular file: not read/);
    expect(spawnSync("test", ["-p", `${mount}/KVMHA/ac-10.0.0.5`]).status).toBe(0);
  });

  it("a FIFO as hb.mounts.file is refused at once, named: check cannot judge, write does not write", async () => {
    await writeFile(`${mount}/KVMHA/hb-10.0.0.5`, `${now()}\n`);
    await rm(mounts);
    fifo(mounts);
    const check = await hb(["check", "--mount", mount, "--host", "10.0.0.5"]);
    expect(check).toMatchObject({ code: 2, stdout: `10.0.0.5: CANNOT JUDGE (not-mounted): cannot read the mount table ${mounts}: ${mounts} is a FIFO, not a regular file: not read\n` });
    const write = await hb(["write", "--mount", mount, "--host", "10.0.0.5"]);
    expect(write).toMatchObject({ code: 1, stderr: expect.stringContaining(`${mounts} is a FIFO, not a regular file`) });
  });

  it("write passes -- to mount before the source and the mount point", async () => {
    await writeFile(mounts, "");
    const mountCall = await recordingMount();
    const result = await hb(["write", "--mount", mount, "--host", "10.0.0.5", "--server", "10.0.0.2", "--export", "/export"], mountCall.executor);
    expect(result.code).toBe(0);
    expect(await mountCall.argv()).toEqual(["-o", "sync,soft,proto=tcp,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,noac", "--", "10.0.0.2:/export", mount]);
  });

  it.each([
    [["--server=-obind,remount", "--export", "/export"], /the NFS server "-obind,remount" begins with "-", which mount would read as an option: refused/],
    [["--server", "10.0.0.2", "--export=-oremount"], /the export path is not an absolute path/],
  ])("write refuses %j before mount runs (exit 2)", async (args, message) => {
    await writeFile(mounts, "");
    const mountCall = await recordingMount();
    const result = await hb(["write", "--mount", mount, "--host", "10.0.0.5", ...args], mountCall.executor);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(message) });
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(await mountCall.argv()).toBeNull();
  });

  it.each(["/", "/etc", "/usr", "/var", "/boot", "/proc", "/sys", "/dev", "/run"])("write never remounts over %s (exit 2, mount not run)", async (system) => {
    const mountCall = await recordingMount();
    const result = await hb(["write", "--mount", system, "--host", "10.0.0.5", "--server", "10.0.0.2", "--export", "/export"], mountCall.executor);
    expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/a system folder: hb never mounts a pool over it/) });
    expect(await mountCall.argv()).toBeNull();
  });
});
