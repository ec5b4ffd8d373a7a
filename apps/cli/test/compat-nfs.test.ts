import { spawn, type ChildProcess } from "node:child_process";
import { chmod, readdir, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor, SystemClock, type Executor } from "@hb/core";
import { makeTempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";
import { NfsPool } from "./nfs-pool.js";

/** The real clock, with its monotonic origin at the call: as if this process had just started. */
class FreshClock extends SystemClock {
  private readonly origin = super.monoMs();
  override monoMs(): number {
    return super.monoMs() - this.origin;
  }
}

const SERVER = "10.0.0.2";
const EXPORT = "/export/primary";
const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);

/**
 * A pool as the entry points see it (an NFS pool by its own mount table), and a fake mount(8)
 * reached through the Executor port that records its arguments and mounts, does nothing, or fails.
 */
class Pool extends NfsPool {
  static async create(mounted = true): Promise<Pool> {
    const pool = new Pool(await makeTempDir("hb-compat-"), "mnt/4f1c", (mount) => `${SERVER}:${EXPORT} ${mount} nfs4 rw,relatime,soft,proto=tcp 0 0\n`);
    await pool.prepare({ mounted, tableBefore: "proc /proc proc rw 0 0\n" });
    return pool;
  }

  async fakeMount(behaviour: "mounts" | "does-nothing" | "fails"): Promise<string> {
    const program = this.dir.file(`mount-${behaviour}`);
    const body = { mounts: `printf '%s' '${this.tableLine()}' >> '${this.mounts}'`, "does-nothing": "true", fails: "echo 'mount.nfs: No route to host' >&2; exit 32" }[behaviour];
    await writeFile(program, `#!/bin/sh\nprintf '%s\\n' "$@" > '${this.dir.file("mount-args")}'\n${body}\n`);
    await chmod(program, 0o755);
    return program;
  }

  override hbFile(host = HOST): string {
    return super.hbFile(host);
  }
}

/** The real executor, with `mount` replaced by a fake program (a fake at the Executor port). */
function withMount(program: string): Executor {
  const real = new ProcessExecutor();
  return { run: (request) => real.run(request.file === "mount" ? { ...request, file: program } : request) };
}

const compat = (pool: Pool, argv: readonly string[], executor: Executor = new ProcessExecutor()) =>
  runHb(["compat", ...argv], { env: { AGENT_PROPS: pool.properties }, clock: new FreshClock(), executor });
const firstLine = (text: string) => text.split("\n")[0];

describe("hb compat kvmheartbeat (write and -r), against kvmheartbeat.sh", () => {
  let pool: Pool;
  beforeEach(async () => {
    pool = await Pool.create();
  });
  afterEach(() => pool.dir.remove());

  const base = () => ["kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", pool.mount];

  describe("flags", () => {
    it("exits 1 silently without -i, in every mode, before touching anything", async () => {
      for (const argv of [["kvmheartbeat", "-m", pool.mount, "-h", HOST], ["kvmheartbeat", "-r", "-m", pool.mount, "-h", HOST, "-t", "60"]]) {
        expect(await compat(pool, argv)).toEqual({ code: 1, stdout: "", stderr: "" });
      }
      expect(await readdir(`${pool.mount}/KVMHA`)).toEqual([]);
    });

    it("answers an unknown flag or a missing value with upstream's usage and exit 1", async () => {
      for (const argv of [["kvmheartbeat", "-x"], ["kvmheartbeat", "-i"]]) {
        const result = await compat(pool, argv);
        expect(result.code).toBe(1);
        expect(firstLine(result.stdout)).toMatch(/^Usage: kvmheartbeat\.sh /);
      }
    });

    it("takes combined short flags (-rt60, -ri…) as getopts does", async () => {
      await writeFile(pool.hbFile(), `${now() - 61}\n`);
      const result = await compat(pool, ["kvmheartbeat", `-ri${SERVER}`, "-p", EXPORT, `-m${pool.mount}`, "-h", HOST, "-rt60"]);
      expect(result.code).toBe(0);
      expect(firstLine(result.stdout)).toMatch(/DEAD/);
    });

    it("refuses an empty -m (upstream would write under /KVMHA on the root disk)", async () => {
      const result = await compat(pool, ["kvmheartbeat", "-i", SERVER, "-h", HOST]);
      expect(result).toMatchObject({ code: 1, stdout: "" });
      expect(result.stderr).toMatch(/-m: invalid mount point "": empty/);
    });
  });

  describe("write (default)", () => {
    it("writes epoch seconds and a newline to <mount>/KVMHA/hb-<host>, exits 0 and says nothing", async () => {
      const before = now();
      const result = await compat(pool, [...base(), "-h", HOST]);
      expect(result).toEqual({ code: 0, stdout: "", stderr: "" });
      const written = Number((await readFile(pool.hbFile(), "utf8")).trim());
      expect(written).toBeGreaterThanOrEqual(before);
      expect(await readFile(pool.hbFile(), "utf8")).toBe(`${written}\n`);
      expect(await readdir(`${pool.mount}/KVMHA`)).toEqual([`hb-${HOST}`]);
    });

    it("creates KVMHA when it is missing", async () => {
      await rm(`${pool.mount}/KVMHA`, { recursive: true });
      expect((await compat(pool, [...base(), "-h", HOST])).code).toBe(0);
      expect(await readFile(pool.hbFile(), "utf8")).toMatch(/^\d+\n$/);
    });

    it("prints 'Failed to create <mount>/KVMHA//hb-<host>' and exits 2 when the file cannot be created", async () => {
      const gone = pool.dir.file("mnt/absent");
      await writeFile(pool.mounts, `${SERVER}:${EXPORT} ${gone} nfs rw 0 0\n`);
      const result = await compat(pool, ["kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", gone, "-h", HOST]);
      expect(result.code).toBe(2);
      expect(firstLine(result.stdout)).toBe(`Failed to create ${gone}/KVMHA//hb-${HOST}`);
    });

    it("refuses a host id that is not one path segment as 'Failed to create', exit 2", async () => {
      for (const host of ["", "../../etc/cron.d/x"]) {
        const result = await compat(pool, [...base(), "-h", host]);
        expect(result.code).toBe(2);
        expect(firstLine(result.stdout)).toBe(`Failed to create ${pool.mount}/KVMHA//hb-${host}`);
        expect(result.stderr).toMatch(/invalid host id/);
      }
      expect(await readdir(`${pool.mount}/KVMHA`)).toEqual([]);
    });
  });

  describe("mount handling", () => {
    const children: ChildProcess[] = [];
    afterEach(() => {
      for (const child of children.splice(0)) child.kill("SIGKILL");
    });
    // A long-lived process whose command line reads like a qemu with its disk at `disk`.
    const fakeQemu = (disk: string) => {
      const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)", "--", "-drive", `file=${disk},format=qcow2`], { argv0: "qemu-system-x86_64", stdio: "ignore" });
      children.push(child);
      return child;
    };
    const exitSignal = (child: ChildProcess) => new Promise<string | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));

    beforeEach(async () => {
      await writeFile(pool.mounts, "proc /proc proc rw 0 0\n");
    });

    it("remounts a pool missing from the mount table with upstream's options, writes, and SIGKILLs the qemu processes on that mount", async () => {
      const victim = fakeQemu(`${pool.mount}/vol-1`);
      const bystander = fakeQemu(`${pool.mount}2/vol-1`);
      const killed = exitSignal(victim);
      const result = await compat(pool, [...base(), "-h", HOST], withMount(await pool.fakeMount("mounts")));
      expect(result.code).toBe(0);
      expect(result.stdout).toBe("");
      // Options first, then "--": the source and the mount point can never be read as options.
      expect((await readFile(pool.dir.file("mount-args"), "utf8")).split("\n")).toEqual([
        "-o",
        "sync,soft,proto=tcp,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,noac",
        "--",
        `${SERVER}:${EXPORT}`,
        pool.mount,
        "",
      ]);
      expect(await killed).toBe("SIGKILL");
      expect(result.stderr).toContain(`killed qemu processes using ${pool.mount} after the remount: ${victim.pid}`);
      expect(bystander.exitCode ?? bystander.signalCode).toBeNull();
      expect(await readFile(pool.hbFile(), "utf8")).toMatch(/^\d+\n$/);
    });

    it("in read mode remounts but kills nothing", async () => {
      const vm = fakeQemu(`${pool.mount}/vol-1`);
      await writeFile(pool.hbFile(), `${now()}\n`);
      const result = await compat(pool, [...base(), "-r", "-h", HOST, "-t", "60"], withMount(await pool.fakeMount("mounts")));
      expect(firstLine(result.stdout)).toBe("=====> ALIVE <=====");
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(vm.exitCode ?? vm.signalCode).toBeNull();
    });

    it.each(["fails", "does-nothing"] as const)("prints 'Failed to remount S:P under M' and exits 1 when mount %s", async (behaviour) => {
      const result = await compat(pool, [...base(), "-h", HOST], withMount(await pool.fakeMount(behaviour)));
      expect(result.code).toBe(1);
      expect(firstLine(result.stdout)).toBe(`Failed to remount ${SERVER}:${EXPORT} under ${pool.mount}`);
      expect(result.stderr).toMatch(behaviour === "fails" ? /No route to host/ : /shows no NFS mount/);
      // Nothing was written under the unmounted mount point.
      expect(await readdir(`${pool.mount}/KVMHA`)).toEqual([]);
    });

    it("does not count a mount whose path merely contains the mount point (upstream's grep did)", async () => {
      await writeFile(pool.mounts, `${SERVER}:${EXPORT} ${pool.mount}-old nfs rw 0 0\n`);
      const result = await compat(pool, [...base(), "-h", HOST], withMount(await pool.fakeMount("fails")));
      expect(result.code).toBe(1);
    });
  });

  describe("read (-r)", () => {
    const read = (t: string | null = "60") => compat(pool, [...base(), "-r", "-h", HOST, ...(t === null ? [] : ["-t", t])]);
    const file = () => `${pool.mount}/KVMHA//hb-${HOST}`;

    it("is ALIVE up to and including -t seconds, DEAD with upstream's line beyond; always exit 0", async () => {
      await writeFile(pool.hbFile(), `${now() - 10}\n`);
      expect(await read()).toMatchObject({ code: 0, stdout: "=====> ALIVE <=====\n" });
      await writeFile(pool.hbFile(), `${now() - 200}\n`);
      const dead = await read();
      expect(dead.code).toBe(0);
      expect(firstLine(dead.stdout)).toMatch(
        new RegExp(`^=====> Considering host as DEAD because last write on \\[${file().replaceAll("/", "\\/")}\\] was \\[(200|201)\\] seconds ago, but the max interval is \\[60\\] <======$`),
      );
    });

    it("reports the true age: 256 s is DEAD [256] (upstream: age mod 256 = 0, ALIVE)", async () => {
      await writeFile(pool.hbFile(), `${now() - 256}\n`);
      expect(firstLine((await read()).stdout)).toMatch(/was \[25[67]\] seconds ago/);
    });

    it.each([
      ["missing", null, "the heartbeat file does not exist"],
      ["empty", "", "the heartbeat file is empty"],
      ["not a number", "yesterday\n", 'the heartbeat file does not hold epoch seconds ("yesterday")'],
    ])("cannot judge a %s heartbeat file: a first line without DEAD, exit 0, the reason after it (upstream: an error first, read as ALIVE)", async (_what, content, reason) => {
      if (content !== null) await writeFile(pool.hbFile(), content);
      const result = await read();
      expect(result.code).toBe(0);
      expect(result.stdout).toBe(`=====> CANNOT JUDGE: ${reason} <=====\n`);
      expect(result.stderr).toContain(`hb: cannot judge: ${file()}: ${reason}; no evidence the host is down, so not DEAD`);
    });

    it("cannot judge a pool without KVMHA/ or a heartbeat file that says DEAD", async () => {
      await writeFile(pool.hbFile(), "=====> Considering host as DEAD <======\n");
      expect((await read()).stdout).toBe("=====> CANNOT JUDGE <=====\n");
      await rm(`${pool.mount}/KVMHA`, { recursive: true });
      expect((await read()).stdout).toBe("=====> CANNOT JUDGE: the heartbeat file does not exist <=====\n");
    });

    it("mixed cluster: an upstream writer killed between its truncate and its write leaves an empty file, and that host is not called DEAD", async () => {
      await writeFile(pool.hbFile(), `${now() - 5}\n`);
      // kvmheartbeat.sh's `echo $timestamp > $hbFile`: the shell truncates the file, then is killed before echo runs.
      const writer = spawn("/bin/sh", ["-c", 'timestamp=$(date +%s); { kill -9 $$; echo "$timestamp"; } > "$1"', "kvmheartbeat.sh", pool.hbFile()], { stdio: "ignore" });
      const [, signal] = await new Promise<[number | null, string | null]>((resolve) => writer.once("exit", (code, sig) => resolve([code, sig])));
      expect(signal).toBe("SIGKILL");
      expect(await readFile(pool.hbFile(), "utf8")).toBe("");
      const result = await read();
      expect(result.code).toBe(0);
      expect(firstLine(result.stdout)).not.toMatch(/DEAD/);
      expect(firstLine(result.stdout)).toBe("=====> CANNOT JUDGE: the heartbeat file is empty <=====");
    });

    it("without -t takes the agent's own threshold (kvm.heartbeat.update.frequency)", async () => {
      await pool.setProperties("kvm.heartbeat.update.frequency=30000\n");
      await writeFile(pool.hbFile(), `${now() - 45}\n`);
      expect(firstLine((await read(null)).stdout)).toMatch(/max interval is \[30\]/);
    });

    it("uses hb.heartbeat.max.age when it is longer than -t (the writer's period plus its timeout)", async () => {
      await pool.setProperties("hb.heartbeat.max.age=90000\n");
      await writeFile(pool.hbFile(), `${now() - 70}\n`);
      expect(firstLine((await read()).stdout)).toBe("=====> ALIVE <=====");
      await writeFile(pool.hbFile(), `${now() - 200}\n`);
      expect(firstLine((await read()).stdout)).toMatch(/max interval is \[90\]/);
    });

    it("refuses a -t that is not whole seconds with exit 1 (never a DEAD line)", async () => {
      const result = await read("1m");
      expect(result).toMatchObject({ code: 1, stdout: "" });
    });

    it("falls back to CloudStack's defaults without agent.properties, saying so only after the verdict", async () => {
      await writeFile(pool.hbFile(), `${now()}\n`);
      const result = await runHb(["compat", ...base(), "-r", "-h", HOST, "-t", "60"], {
        env: { AGENT_PROPS: pool.dir.file("absent.properties") },
        clock: new FreshClock(),
        executor: withMount(await pool.fakeMount("fails")),
      });
      // The defaults read /proc/self/mounts, where this folder is no NFS mount: upstream's remount
      // runs and fails; the line the agent reads still comes first.
      expect(firstLine(result.stdout)).toBe(`Failed to remount ${SERVER}:${EXPORT} under ${pool.mount}`);
      expect(result.stderr).toMatch(/absent\.properties.*using CloudStack's defaults/);
    });
  });
});

describe("hb compat kvmvmactivity, against kvmvmactivity.sh", () => {
  let pool: Pool;
  const SUSPECT = now() - 600;
  beforeEach(async () => {
    pool = await Pool.create();
    await writeFile(`${pool.mount}/vol-1`, "disk");
    await writeFile(`${pool.mount}/vol-2`, "disk");
    await utimes(`${pool.mount}/vol-1`, SUSPECT - 100, SUSPECT - 100);
    await utimes(`${pool.mount}/vol-2`, SUSPECT - 50, SUSPECT - 50);
    await writeFile(pool.hbFile(), `${SUSPECT - 30}\n`);
  });
  afterEach(() => pool.dir.remove());

  const activity = (extra: readonly string[] = [], volumes = "vol-1,vol-2") =>
    compat(pool, ["kvmvmactivity", "-i", SERVER, "-p", EXPORT, "-m", pool.mount, "-h", HOST, "-u", volumes, "-t", String(now()), "-d", String(SUSPECT), ...extra]);
  const acFile = () => `${pool.mount}/KVMHA/ac-${HOST}`;

  it("exits 2 silently without -i or without -d", async () => {
    expect(await compat(pool, ["kvmvmactivity", "-m", pool.mount, "-h", HOST, "-d", String(SUSPECT)])).toEqual({ code: 2, stdout: "", stderr: "" });
    expect(await compat(pool, ["kvmvmactivity", "-i", SERVER, "-m", pool.mount, "-h", HOST])).toEqual({ code: 2, stdout: "", stderr: "" });
  });

  it("answers an unknown flag with upstream's usage and exit 1", async () => {
    const result = await compat(pool, ["kvmvmactivity", "-r"]);
    expect(result.code).toBe(1);
    expect(firstLine(result.stdout)).toMatch(/^Usage: kvmvmactivity\.sh /);
  });

  it("is ALIVE when the heartbeat is younger than 61 s, whatever the volumes", async () => {
    await writeFile(pool.hbFile(), `${now() - 30}\n`);
    expect(await activity()).toMatchObject({ code: 0, stdout: "=====> ALIVE <=====\n" });
  });

  it("is DEAD for an empty volume list once the heartbeat is old", async () => {
    expect(await activity([], "")).toMatchObject({ code: 0, stdout: "=====> Considering host as DEAD due to empty UUIDList <======\n" });
  });

  it("without an ac file: DEAD when no volume changed after the suspect time, and remembers the check", async () => {
    const result = await activity();
    expect(result.code).toBe(0);
    expect(firstLine(result.stdout)).toBe(
      `=====> Considering host as DEAD due to file [${acFile()}] does not exists and condition [latestUpdateTime -gt SuspectTime] has not been satisfied. <======`,
    );
    expect(await readFile(acFile(), "utf8")).toMatch(new RegExp(`^${SUSPECT}:${SUSPECT - 50}:\\d+\\n$`));
  });

  it("without an ac file: ALIVE when a volume changed after the suspect time", async () => {
    await utimes(`${pool.mount}/vol-2`, SUSPECT + 10, SUSPECT + 10);
    expect(firstLine((await activity()).stdout)).toBe("=====> ALIVE <=====");
  });

  it("with an ac file of the same episode: DEAD without new activity, ALIVE with it", async () => {
    await activity();
    expect(firstLine((await activity()).stdout)).toBe(
      `=====> Considering host as DEAD due to file [${acFile()}] exist and conditions [suspectTimeDiff -lt 0] and [latestUpdateTime -gt SuspectTime] have not been satisfied. <======`,
    );
    await utimes(`${pool.mount}/vol-1`, SUSPECT - 10, SUSPECT - 10);
    expect(firstLine((await activity()).stdout)).toBe("=====> ALIVE <=====");
  });

  it("with an ac file of a later suspect time: compares with this suspect time", async () => {
    await writeFile(acFile(), `${SUSPECT + 100}:${SUSPECT - 500}:${SUSPECT + 110}\n`);
    expect(firstLine((await activity()).stdout)).toBe(
      `=====> Considering host as DEAD due to file [${acFile()}] exist, condition [suspectTimeDiff -lt 0] was satisfied and [latestUpdateTime -gt SuspectTime] has not been satisfied. <======`,
    );
  });

  it("does not judge a pool that is not mounted: a first line without DEAD, with the reason after it", async () => {
    await writeFile(pool.mounts, "");
    const result = await activity();
    expect(result).toMatchObject({ code: 0, stdout: `=====> CANNOT JUDGE: ${pool.mount} is not an NFS mount (per ${pool.mounts}) <=====\n` });
    expect(result.stderr).toMatch(/cannot judge: .* is not an NFS mount/);
    await expect(readFile(acFile())).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.each([
    ["the heartbeat file is missing", async (pool: Pool) => rm(pool.hbFile())],
    ["the heartbeat file is empty", async (pool: Pool) => writeFile(pool.hbFile(), "")],
    ["the heartbeat file is garbage", async (pool: Pool) => writeFile(pool.hbFile(), "DEAD\n")],
    ["KVMHA/ is missing", async (pool: Pool) => rm(`${pool.mount}/KVMHA`, { recursive: true })],
    ["the mount point is missing", async (pool: Pool) => rm(pool.mount, { recursive: true })],
  ])("cannot judge when %s, though no volume was written: no DEAD in the first line, exit 0 (upstream: cat's error first)", async (_what, prepare) => {
    await prepare(pool);
    for (const volumes of ["vol-1,vol-2", ""]) {
      const result = await activity([], volumes);
      expect(result.code).toBe(0);
      expect(firstLine(result.stdout)).toMatch(/^=====> CANNOT JUDGE(: the heartbeat file (does not exist|is empty))? <=====$/);
      expect(result.stderr).toMatch(/^hb: cannot judge: /);
    }
  });

  it("cannot judge from a garbage ac file when no volume changed after the suspect time (upstream: expr's error first)", async () => {
    for (const garbage of ["", "yesterday\n", "a:b:c\n"]) {
      await writeFile(acFile(), garbage);
      const result = await activity();
      expect(result.code).toBe(0);
      expect(firstLine(result.stdout)).toMatch(/^=====> CANNOT JUDGE: the ac file does not hold suspect:update:time \(.*\) and no volume changed after the suspect time <=====$/);
    }
  });

  it("refuses bad input with exit 2 and no verdict line", async () => {
    for (const extra of [["-d", "yesterday"], ["-h", "../x"], ["-t", "12:00"]]) {
      const result = await activity(extra);
      expect(result).toMatchObject({ code: 2, stdout: "" });
    }
    expect((await activity([], "vol-1,../../etc/shadow")).code).toBe(2);
  });
});
