import { spawnSync } from "node:child_process";
import { rm, symlink, writeFile } from "node:fs/promises";
import { ProcessExecutor, SystemClock } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";
import { NfsPool } from "./nfs-pool.js";

/*
 * The entry points on a pool with planted files (real FIFOs and links in a temp folder): each
 * answers at once with a first line that holds no DEAD (the agent reads ALIVE, as it does when
 * upstream's script fails), and leaves what was planted where it was.
 */

const SERVER = "10.0.0.2";
const EXPORT = "/export/primary";
const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);
const fifo = (path: string) => expect(spawnSync("mkfifo", [path]).status).toBe(0);

describe("hb compat on planted files", () => {
  let dir: TempDir;
  let mount: string;
  let properties: string;
  beforeEach(async () => {
    const pool = new NfsPool(await makeTempDir("hb-compat-planted-"), "mnt/4f1c", (path) => `${SERVER}:${EXPORT} ${path} nfs4 rw 0 0\n`);
    await pool.prepare({ properties: "kvm.heartbeat.checker.timeout=30000\n" });
    ({ dir, mount, properties } = pool);
  });
  afterEach(() => dir.remove());

  const compat = (argv: readonly string[]) => runHb(["compat", ...argv], { env: { AGENT_PROPS: properties }, clock: new SystemClock(), executor: new ProcessExecutor() });
  const activity = (volumes: string) => compat(["kvmvmactivity", "-i", SERVER, "-p", EXPORT, "-m", mount, "-h", HOST, "-u", volumes, "-t", String(now()), "-d", String(now() - 100)]);

  it("kvmvmactivity with a FIFO as the ac file: cannot judge, at once, naming it; the FIFO stays", async () => {
    await writeFile(`${mount}/KVMHA/hb-${HOST}`, `${now() - 300}\n`);
    await writeFile(`${mount}/vol-1`, "disk");
    fifo(`${mount}/KVMHA/ac-${HOST}`);
    const result = await activity("vol-1");
    expect(result.code).toBe(0);
    expect(result.stdout.split("\n")[0]).not.toMatch(/DEAD/);
    expect(result.stderr).toContain(`ac-${HOST} is a FIFO, not a regular file: not read`);
    expect(spawnSync("test", ["-p", `${mount}/KVMHA/ac-${HOST}`]).status).toBe(0);
  });

  it("kvmvmactivity counts a volume that does not exist as not written, as upstream does: DEAD on a stale heartbeat", async () => {
    await writeFile(`${mount}/KVMHA/hb-${HOST}`, `${now() - 300}\n`);
    const result = await activity("deleted-volume");
    expect(result).toMatchObject({ code: 0, stdout: `=====> Considering host as DEAD due to file [${mount}/KVMHA/ac-${HOST}] does not exists and condition [latestUpdateTime -gt SuspectTime] has not been satisfied. <======\n` });
  });

  it("kvmheartbeat -r on a FIFO or a symbolic link answers at once: cannot judge, never DEAD", async () => {
    fifo(`${mount}/KVMHA/hb-${HOST}`);
    const fromFifo = await compat(["kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", mount, "-h", HOST, "-r", "-t", "60"]);
    expect(fromFifo.code).toBe(0);
    expect(fromFifo.stdout.split("\n")[0]).not.toMatch(/DEAD/);
    expect(fromFifo.stderr).toMatch(/cannot judge: .*hb-10\.0\.0\.5: .*empty/);

    await rm(`${mount}/KVMHA/hb-${HOST}`);
    await symlink("/etc/hostname", `${mount}/KVMHA/hb-${HOST}`);
    const fromLink = await compat(["kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", mount, "-h", HOST, "-r", "-t", "60"]);
    expect(fromLink.stdout.split("\n")[0]).not.toMatch(/DEAD/);
    expect(fromLink.stderr).toContain("a symbolic link: not followed");
  });
});
