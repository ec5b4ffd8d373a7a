import { chmod, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor, SystemClock, type Executor } from "@hb/core";
import { faultFsUnavailableReason, makeTempDir, mountFaultFs } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";
import { NfsPool } from "./nfs-pool.js";

const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);

/** A folder presented as an NFS pool by its own mount table (hb.mounts.file in --file). */
async function createPool(extra = ""): Promise<NfsPool> {
  const pool = new NfsPool(await makeTempDir("hb-nfs-"), "pool", (mount) => `10.0.0.2:/export ${mount} nfs rw 0 0\n`);
  await pool.prepare({ properties: extra });
  return pool;
}

const hb = (pool: NfsPool, argv: readonly string[], executor: Executor = new ProcessExecutor()) => runHb(["nfs", ...argv, "--file", pool.properties], { executor, clock: new SystemClock() });

describe("hb nfs", () => {
  let pool: NfsPool;
  beforeEach(async () => {
    pool = await createPool();
  });
  afterEach(() => pool.dir.remove());

  describe("usage", () => {
    it("prints its help, and refuses unknown verbs, missing and foreign options with exit 2", async () => {
      expect((await runHb(["nfs", "--help"])).stdout).toMatch(/hb nfs check --mount M --host H/);
      expect((await hb(pool, ["frobnicate"])).code).toBe(2);
      expect((await hb(pool, ["check", "--mount", pool.mount])).stderr).toMatch(/--host is required/);
      expect((await hb(pool, ["check", "--mount", pool.mount, "--host", HOST, "--volumes", "a"])).stderr).toMatch(/does not take --volumes/);
      expect((await hb(pool, ["check", "--mount", pool.mount, "--host", HOST, "--timeout", "soon"])).stderr).toMatch(/--timeout takes a whole number/);
      expect((await hb(pool, ["write", "--mount", pool.mount, "--host", HOST, "--server", "10.0.0.2"])).stderr).toMatch(/--server and --export go together/);
    });

    it("names bad host ids and mount points as usage errors (exit 2, never 'DEAD')", async () => {
      const badHost = await hb(pool, ["check", "--mount", pool.mount, "--host", "../../etc"]);
      expect(badHost.code).toBe(2);
      expect(badHost.stderr).toMatch(/invalid host id/);
      expect((await hb(pool, ["check", "--mount", "relative/pool", "--host", HOST])).stderr).toMatch(/invalid mount point/);
    });
  });

  describe("write", () => {
    it("writes the heartbeat and its record, read back with O_DIRECT", async () => {
      const result = await hb(pool, ["write", "--mount", pool.mount, "--host", HOST]);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^wrote ${pool.file(`hb-${HOST}`)} in \\d+ ms, read back with O_DIRECT, record seq 1\\n$`));
      expect(await readFile(pool.file(`hb-${HOST}`), "utf8")).toMatch(/^\d+\n$/);
      expect(JSON.parse(await readFile(pool.file(`hbx-${HOST}.json`), "utf8"))).toMatchObject({ seq: 1, host: HOST, bootId: expect.stringMatching(/^[0-9a-f-]{36}$/), frequencyMs: 60000, timeoutMs: 60000, maxAgeSeconds: 60 });
      expect((await hb(pool, ["write", "--mount", pool.mount, "--host", HOST])).stdout).toMatch(/record seq 2/);
    });

    it("takes --host from hb.host.ip, and --no-record writes only what upstream reads", async () => {
      const configured = await createPool(`hb.host.ip=${HOST}\n`);
      try {
        expect((await hb(configured, ["write", "--mount", configured.mount, "--no-record"])).code).toBe(0);
        expect(await readdir(configured.file(""))).toEqual([`hb-${HOST}`]);
      } finally {
        await configured.dir.remove();
      }
    });

    it("does not write under a mount point that is not mounted (it would be the local disk)", async () => {
      await writeFile(pool.mounts, "");
      const result = await hb(pool, ["write", "--mount", pool.mount, "--host", HOST]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/not writing: .* is not an NFS mount .*give --server and --export/);
      expect(await readdir(pool.file(""))).toEqual([]);
    });

    it("with --server and --export remounts first, as upstream does", async () => {
      await writeFile(pool.mounts, "");
      const fake = pool.dir.file("mount");
      // Source and target after "-o OPTIONS --".
    await writeFile(fake, `#!/bin/sh\nprintf '%s %s nfs4 rw 0 0\\n' "$4" "$5" >> '${pool.mounts}'\n`);
      await chmod(fake, 0o755);
      const real = new ProcessExecutor();
      const executor: Executor = { run: (request) => real.run(request.file === "mount" ? { ...request, file: fake } : request) };
      const result = await hb(pool, ["write", "--mount", pool.mount, "--host", HOST, "--server", "10.0.0.2", "--export", "/export"], executor);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^remounted 10.0.0.2:/export at ${pool.mount}\\nno qemu process uses ${pool.mount}\\nwrote `));
    });
  });

  describe("check", () => {
    const check = (...extra: string[]) => hb(pool, ["check", "--mount", pool.mount, "--host", HOST, ...extra]);

    it("exits 0 ALIVE, 1 DEAD by age against --max-age or the agent's threshold", async () => {
      await writeFile(pool.file(`hb-${HOST}`), `${now() - 30}\n`);
      expect(await check()).toMatchObject({ code: 0, stdout: expect.stringMatching(/^10\.0\.0\.5: ALIVE \(fresh\): last write 3\d s ago \(maximum 60 s\)/) });
      expect(await check("--max-age", "20")).toMatchObject({ code: 1, stdout: expect.stringMatching(/DEAD \(stale\)/) });
    });

    it("cannot judge missing, empty and non-numeric files or a missing KVMHA/: exit 2 with the reason, never DEAD", async () => {
      expect(await check()).toEqual({ code: 2, stdout: "10.0.0.5: CANNOT JUDGE (missing): the heartbeat file does not exist\n", stderr: "" });
      await writeFile(pool.file(`hb-${HOST}`), "");
      expect(await check()).toEqual({ code: 2, stdout: "10.0.0.5: CANNOT JUDGE (empty): the heartbeat file is empty\n", stderr: "" });
      await writeFile(pool.file(`hb-${HOST}`), "later\n");
      expect(await check()).toMatchObject({ code: 2, stdout: '10.0.0.5: CANNOT JUDGE (not-a-timestamp): the heartbeat file does not hold epoch seconds ("later")\n' });
      expect(JSON.parse((await check("--json")).stdout)).toMatchObject({ verdict: "undecided", reason: "not-a-timestamp" });
      await rm(pool.file(""), { recursive: true });
      expect(await check()).toMatchObject({ code: 2, stdout: expect.stringMatching(/CANNOT JUDGE \(missing\)/) });
    });

    it("exits 2 when it cannot decide: the pool is not mounted", async () => {
      await writeFile(pool.file(`hb-${HOST}`), `${now()}\n`);
      await writeFile(pool.mounts, "");
      expect(await check()).toMatchObject({ code: 2, stdout: expect.stringMatching(/CANNOT JUDGE \(not-mounted\)/) });
    });

    it("--json gives the verdict, the age and the richer record", async () => {
      await hb(pool, ["write", "--mount", pool.mount, "--host", HOST]);
      const result = await check("--json");
      expect(result.code).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ host: HOST, verdict: "alive", reason: "fresh", maxAgeSeconds: 60, record: { seq: 1, host: HOST } });
    });
  });

  describe("activity", () => {
    const SUSPECT = now() - 600;
    const activity = (...extra: string[]) => hb(pool, ["activity", "--mount", pool.mount, "--host", HOST, "--volumes", "vol-1", "--suspect-time", String(SUSPECT), ...extra]);

    it("exits 0 with activity after the suspect time, 1 without, with upstream's reason", async () => {
      await writeFile(pool.file(`hb-${HOST}`), `${SUSPECT - 10}\n`);
      await writeFile(`${pool.mount}/vol-1`, "disk");
      await utimes(`${pool.mount}/vol-1`, SUSPECT - 10, SUSPECT - 10);
      expect(await activity()).toMatchObject({ code: 1, stdout: expect.stringMatching(/NO ACTIVITY \(no-ac-file\)/) });
      await utimes(`${pool.mount}/vol-1`, SUSPECT + 10, SUSPECT + 10);
      const json = await activity("--json");
      expect(json.code).toBe(0);
      expect(JSON.parse(json.stdout)).toMatchObject({ decided: true, verdict: "alive", reason: "activity-since-last-check", latestUpdate: SUSPECT + 10 });
    });

    it("exits 2, cannot judge, without a readable heartbeat or with an ac file it does not understand, though no volume was written", async () => {
      await writeFile(`${pool.mount}/vol-1`, "disk");
      await utimes(`${pool.mount}/vol-1`, SUSPECT - 10, SUSPECT - 10);
      expect(await activity()).toMatchObject({ code: 2, stdout: "10.0.0.5: CANNOT JUDGE (heartbeat-missing): the heartbeat file does not exist\n" });
      await writeFile(pool.file(`hb-${HOST}`), "");
      expect(JSON.parse((await activity("--json")).stdout)).toMatchObject({ decided: false, cause: "heartbeat-empty" });
      await writeFile(pool.file(`hb-${HOST}`), `${SUSPECT - 10}\n`);
      await writeFile(pool.file(`ac-${HOST}`), "garbage\n");
      expect(await activity()).toMatchObject({ code: 2, stdout: expect.stringMatching(/^10\.0\.0\.5: CANNOT JUDGE \(ac-not-understood\): /) });
    });

    it("refuses a volume outside the pool", async () => {
      const result = await hb(pool, ["activity", "--mount", pool.mount, "--host", HOST, "--volumes", "../../etc/passwd", "--suspect-time", "1"]);
      expect(result).toMatchObject({ code: 2, stderr: expect.stringMatching(/invalid volume/) });
    });
  });

  describe("scan", () => {
    it("lists every host with age and verdict; exit 1 when some are DEAD", async () => {
      // Written 5 s and 500 s ago; the second writer's clock was 30 s behind the server's.
      await writeFile(pool.file("hb-10.0.0.1"), `${now() - 5}\n`);
      await utimes(pool.file("hb-10.0.0.1"), now() - 5, now() - 5);
      await writeFile(pool.file("hb-10.0.0.2"), `${now() - 500}\n`);
      await utimes(pool.file("hb-10.0.0.2"), now() - 470, now() - 470);
      const table = await hb(pool, ["scan", "--mount", pool.mount]);
      expect(table.code).toBe(1);
      expect(table.stdout).toMatch(/^10\.0\.0\.1\s+ALIVE\s+\d s\s+fresh$/m);
      expect(table.stdout).toMatch(/^10\.0\.0\.2\s+DEAD\s+50\d s\s+stale {2}writer clock -30 s vs server$/m);
      expect(table.stdout).toMatch(/2 host\(s\), 1 DEAD \(max age 60 s\), read in \d+ ms/);
      const json = JSON.parse((await hb(pool, ["scan", "--mount", pool.mount, "--json", "--max-age", "1000"])).stdout);
      expect(json).toMatchObject({ hosts: 2, dead: 0, maxAgeSeconds: 1000 });
    });

    it("cannot judge a host whose file is empty or garbage: exit 2 when no host is DEAD, 1 when one is", async () => {
      await writeFile(pool.file("hb-10.0.0.1"), `${now() - 5}\n`);
      await writeFile(pool.file("hb-10.0.0.3"), "");
      await writeFile(pool.file("hb-10.0.0.4"), "junk\n");
      const table = await hb(pool, ["scan", "--mount", pool.mount]);
      expect(table.code).toBe(2);
      expect(table.stdout).toMatch(/^10\.0\.0\.3\s+CANNOT JUDGE\s+-\s+empty$/m);
      expect(table.stdout).toMatch(/^10\.0\.0\.4\s+CANNOT JUDGE\s+-\s+not-a-timestamp$/m);
      expect(table.stdout).toMatch(/3 host\(s\), 0 DEAD, 2 cannot be judged \(max age 60 s\)/);
      expect(JSON.parse((await hb(pool, ["scan", "--mount", pool.mount, "--json"])).stdout)).toMatchObject({ hosts: 3, dead: 0, cannotJudge: 2 });
      await writeFile(pool.file("hb-10.0.0.2"), `${now() - 500}\n`);
      expect((await hb(pool, ["scan", "--mount", pool.mount])).code).toBe(1);
    });

    it("exits 2 when the pool has no heartbeat folder", async () => {
      await rm(pool.file(""), { recursive: true });
      expect(await hb(pool, ["scan", "--mount", pool.mount])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot scan the heartbeat folder/) });
    });
  });
});

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`SKIPPED: hb nfs FUSE tests: ${unavailable}`);

describe.skipIf(unavailable !== null)("hb nfs on hung storage (a real FUSE mount)", () => {
  it("check cannot judge a heartbeat it fails to read with EIO: exit 2, not DEAD", async () => {
    const faultFs = await mountFaultFs({ files: { [`KVMHA/hb-${HOST}`]: `${now() - 600}\n` } });
    const dir = await makeTempDir("hb-nfs-fuse-");
    try {
      await writeFile(dir.file("mounts"), `10.0.0.2:/export ${faultFs.mountPoint} nfs rw 0 0\n`);
      await writeFile(dir.file("agent.properties"), `hb.mounts.file=${dir.file("mounts")}\n`);
      await faultFs.setFault({ errno: 5, ops: ["read"] });
      const check = await runHb(["nfs", "check", "--mount", faultFs.mountPoint, "--host", HOST, "--timeout", "5000", "--file", dir.file("agent.properties")]);
      expect(check).toMatchObject({ code: 2, stdout: "10.0.0.5: CANNOT JUDGE (unreadable): the heartbeat file cannot be read (Input/output error)\n" });
    } finally {
      await faultFs.unmount();
      await dir.remove();
    }
  });

  it("check gives up at --timeout with exit 2 (could not decide), write with exit 1", async () => {
    const faultFs = await mountFaultFs({ files: { [`KVMHA/hb-${HOST}`]: `${now()}\n` } });
    const dir = await makeTempDir("hb-nfs-fuse-");
    try {
      await writeFile(dir.file("mounts"), `10.0.0.2:/export ${faultFs.mountPoint} nfs rw 0 0\n`);
      await writeFile(dir.file("agent.properties"), `hb.mounts.file=${dir.file("mounts")}\n`);
      await faultFs.setFault({ hang: true, ops: ["open", "read", "write"] });
      const run = (argv: string[]) => runHb(["nfs", ...argv, "--file", dir.file("agent.properties")]);
      const check = await run(["check", "--mount", faultFs.mountPoint, "--host", HOST, "--timeout", "500"]);
      expect(check).toMatchObject({ code: 2, stdout: expect.stringMatching(/CANNOT JUDGE \(timeout\): the heartbeat file could not be read within 500 ms/) });
      const write = await run(["write", "--mount", faultFs.mountPoint, "--host", HOST, "--timeout", "500"]);
      expect(write).toMatchObject({ code: 1, stderr: expect.stringMatching(/no answer within \d+ ms \(storage hung or too slow\)/) });
    } finally {
      await faultFs.unmount();
      await dir.remove();
    }
  });
});
