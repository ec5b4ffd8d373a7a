// `hb compat kvmsmpheartbeat` as the agent runs kvmsmpheartbeat.sh (upstream PR #12773): a real
// process, judged by its exit status and first line. The pool is a temp folder that a mount
// table of its own (hb.mounts.file) calls a GFS2 mount; -c runs against the fake fence host
// (logger, sync on PATH, sysrq into a temp file).
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { access, mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type FenceHost, roomyFenceHost } from "@hb/testkit";
import { runCompat } from "./agent-run.js";

const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Pool {
  readonly fake: FenceHost;
  readonly path: string;
  readonly mounts: string;
  mounted(yes: boolean): Promise<void>;
  properties(lines?: readonly string[]): Promise<void>;
  hbFile(host?: string): string;
}

async function pool(): Promise<Pool> {
  const fake = await roomyFenceHost();
  cleanups.push(() => fake.temp.remove());
  const path = fake.temp.file("gfs2/9b2e7d1a");
  await mkdir(path, { recursive: true });
  const mounts = fake.temp.file("mounts");
  const made: Pool = {
    fake,
    path,
    mounts,
    mounted: (yes) => writeFile(mounts, `/dev/sda1 / ext4 rw 0 0\n${yes ? `/dev/mapper/cluster ${path} gfs2 rw,noatime 0 0\n` : ""}`),
    properties: (lines = []) => fake.writeProperties([`hb.mounts.file=${mounts}`, ...lines]),
    hbFile: (host = HOST) => `${path}/KVMHA/hb-${host}`,
  };
  await made.mounted(true);
  await made.properties();
  return made;
}

/** As the agent starts the script: AGENT_PROPS, PATH with the fakes first; stdout and stderr kept apart here. */
const run = (p: Pool, args: readonly string[]) => runCompat(p.fake, ["kvmsmpheartbeat", ...args]);

/** The agent's arguments: -i and -p are passed and ignored, as upstream. */
const write = (p: Pool, host = HOST) => run(p, ["-i", "10.0.0.2", "-p", "/gfs2", "-m", p.path, "-h", host]);
const check = (p: Pool, interval = "60") => run(p, ["-i", "10.0.0.2", "-p", "/gfs2", "-m", p.path, "-h", HOST, "-r", "-t", interval]);
const firstLine = (text: string) => text.split("\n")[0];

describe("hb compat kvmsmpheartbeat: write (no -r, no -c)", () => {
  it("writes <path>/KVMHA/hb-<host> and exits 0 silently, as upstream; later writes rewrite it in place", async () => {
    const p = await pool();
    expect(await write(p)).toEqual({ code: 0, stdout: "", stderr: "" });
    const written = Number(await readFile(p.hbFile(), "utf8"));
    expect(Math.abs(written - now())).toBeLessThan(5);
    const { ino } = await stat(p.hbFile());
    expect((await write(p)).code).toBe(0);
    // Upstream writes a temp file and renames it every time (a new inode, a free block needed); hb once.
    expect((await stat(p.hbFile())).ino).toBe(ino);
  });

  it.skipIf(process.getuid?.() !== 0)("kills no qemu process on a write, where upstream kills every one naming a path that is a mount point (root: a real mount point)", async () => {
    const p = await pool();
    expect(spawnSync("mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", p.path], { encoding: "utf8" }).stderr).toBe("");
    cleanups.push(() => spawnSync("umount", [p.path]));
    // A process that upstream's `ps aux | grep qemu | grep "$MountPoint"` finds.
    const qemu: ChildProcess = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)", "qemu-system-x86_64", `file=${p.path}/vm-disk.qcow2`], { stdio: "ignore" });
    cleanups.push(() => qemu.kill("SIGKILL"));
    expect((await readFile("/proc/mounts", "utf8")).includes(` ${p.path} `)).toBe(true);
    expect(await write(p)).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(qemu.exitCode).toBeNull();
    expect(qemu.signalCode).toBeNull();
    expect(() => process.kill(qemu.pid!, 0)).not.toThrow();
  });

  it("writes nothing when the cluster filesystem is not mounted (upstream as merged writes to the local disk): upstream's newer line, exit 1", async () => {
    const p = await pool();
    await p.mounted(false);
    const script = await write(p);
    expect(script.code).toBe(1);
    expect(script.stdout).toBe("");
    expect(firstLine(script.stderr)).toBe(`Mount point is not on a mounted filesystem: ${p.path}`);
    await expect(access(`${p.path}/KVMHA`)).rejects.toThrow();
  });

  it("exits 2 with upstream's lines when the folder cannot be made or the file cannot be written", async () => {
    const p = await pool();
    // KVMHA is a plain file: the folder cannot be created.
    await writeFile(`${p.path}/KVMHA`, "");
    const blocked = await write(p);
    expect(blocked.code).toBe(2);
    expect(firstLine(blocked.stderr)).toBe(`Folder not writable: ${p.path}/KVMHA/`);
    const noHost = await write(await pool(), "");
    expect(noHost.code).toBe(2);
    expect(firstLine(noHost.stderr)).toMatch(/^Failed to write heartbeat to .*\/KVMHA\/\/hb-$/);
  });

  it("requires -m, as upstream: its line and help on stdout, exit 1; an unknown flag gives the help and exit 1", async () => {
    const p = await pool();
    const missing = await run(p, ["-i", "10.0.0.2", "-h", HOST]);
    expect(missing.code).toBe(1);
    expect(missing.stdout.split("\n").slice(0, 2)).toEqual(["Mount point (-m) is required", "Usage: kvmsmpheartbeat.sh"]);
    const unknown = await run(p, ["-x"]);
    expect(unknown.code).toBe(1);
    expect(firstLine(unknown.stdout)).toBe("Usage: kvmsmpheartbeat.sh");
  });
});

describe("hb compat kvmsmpheartbeat -r (the neighbour's check)", () => {
  it("says ALIVE for a fresh heartbeat and DEAD, with upstream's line, for a stale one; exit 0", async () => {
    const p = await pool();
    await mkdir(`${p.path}/KVMHA`);
    await writeFile(p.hbFile(), `${now()}\n`);
    expect(await check(p)).toMatchObject({ code: 0, stdout: "=====> ALIVE <=====\n" });
    await writeFile(p.hbFile(), `${now() - 600}\n`);
    const dead = await check(p);
    expect(dead.code).toBe(0);
    expect(firstLine(dead.stdout)).toMatch(new RegExp(`^=====> Considering host as DEAD because last write on \\[${p.path}/KVMHA//hb-${HOST}\\] was \\[60\\d\\] seconds ago, but the max interval is \\[\\d+\\] <======$`));
  });

  for (const [label, content] of [
    ["missing", null],
    ["empty", ""],
    ["non-numeric", "garbage\n"],
  ] as const) {
    it(`cannot judge a ${label} file (upstream: DEAD, ${label === "missing" ? 999999 : label === "empty" ? 999998 : 999997} seconds): no DEAD in the first line, exit 0`, async () => {
      const p = await pool();
      await mkdir(`${p.path}/KVMHA`);
      if (content !== null) await writeFile(p.hbFile(), content);
      const script = await check(p);
      expect(script.code).toBe(0);
      expect(firstLine(script.stdout)).toMatch(/^=====> CANNOT JUDGE/);
      expect(firstLine(script.stdout)).not.toMatch(/dead/i);
    });
  }

  it("cannot judge when the cluster filesystem is not mounted on the checking host", async () => {
    const p = await pool();
    await p.mounted(false);
    const script = await check(p);
    expect(script.code).toBe(0);
    expect(firstLine(script.stdout)).toMatch(/^=====> CANNOT JUDGE/);
  });

  it("reads, not fences, when -r and -c come together (upstream's order)", async () => {
    const p = await pool();
    const script = await run(p, ["-m", p.path, "-h", HOST, "-r", "-c", "-t", "60"]);
    expect(script.code).toBe(0);
    expect(firstLine(script.stdout)).toMatch(/^=====> CANNOT JUDGE/);
    expect(await p.fake.eventNames()).toEqual([]);
  });
});

describe("hb compat kvmsmpheartbeat -c", () => {
  const upstream = "logger -t heartbeat -- kvmsmpheartbeat.sh will reboot system because it was unable to write the heartbeat to the storage.";

  it("reboots as upstream by default (its line, flush, b), with the pool in the record; exit 0, no output", async () => {
    const p = await pool();
    expect(await run(p, ["-i", "10.0.0.2", "-p", "/gfs2", "-m", p.path, "-c"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await p.fake.eventNames()).toEqual([upstream, "s", "sync", "b"]);
    expect(await p.fake.records()).toEqual([expect.objectContaining({ source: "kvmsmpheartbeat.sh", target: p.path, action: expect.stringMatching(/^(hard-)?reboot$/), isFence: true })]);
  });

  it("runs the configured action instead of upstream's fixed sysrq reboot (log-only)", async () => {
    const p = await pool();
    await p.properties(["kvm.heartbeat.fence.action=log-only"]);
    expect((await run(p, ["-m", p.path, "-c"])).code).toBe(0);
    const events = await p.fake.eventNames();
    expect(events).not.toContain("b");
    expect(events.join("\n")).toMatch(/kvmsmpheartbeat\.sh.*log-only/);
  });

  it("goes through hb.fence.verify: with storage, one more write to the mounted pool vetoes; on an unmounted pool it proves nothing and the host is fenced", async () => {
    const p = await pool();
    await p.properties(["hb.fence.verify=storage", `hb.host.ip=${HOST}`]);
    expect((await run(p, ["-m", p.path, "-c"])).code).toBe(0);
    expect(await p.fake.eventNames()).toEqual([expect.stringMatching(/kvmsmpheartbeat\.sh -c: not fencing \((?:hard-)?reboot\), vetoed by hb\.fence\.verify=storage: one more heartbeat write to /)]);
    await p.mounted(false);
    await writeFile(p.fake.events, "");
    expect((await run(p, ["-m", p.path, "-c"])).code).toBe(0);
    expect(await p.fake.eventNames()).toEqual([upstream, "s", "sync", "b"]);
    expect((await p.fake.records()).at(-1)).toMatchObject({ reason: expect.stringContaining("not on a mounted filesystem") });
  });

  it("does nothing without -m, as upstream (its line and help, exit 1)", async () => {
    const p = await pool();
    const script = await run(p, ["-c"]);
    expect(script.code).toBe(1);
    expect(firstLine(script.stdout)).toBe("Mount point (-m) is required");
    expect(await p.fake.eventNames()).toEqual([]);
  });
});
