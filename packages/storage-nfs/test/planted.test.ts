import { spawnSync } from "node:child_process";
import { mkdir, symlink, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity, findQemuProcessesUsingMount, readHeartbeat, readMountTable, scanHeartbeats } from "../src/index.js";
import { WORKERS } from "./workers.js";

/*
 * Files planted on a pool (or where hb reads local input): FIFOs, devices, sockets and symbolic
 * links, real ones made in a temp folder. None may hang a reader or fail more than its own entry.
 */

const NOW = 1_764_000_000;
const root = process.getuid?.() === 0;

const fifo = (path: string) => expect(spawnSync("mkfifo", [path]).status).toBe(0);
// c 1 3 is what /dev/null is: opening it has no side effect, should a reader do so.
const device = (path: string) => expect(spawnSync("mknod", [path, "c", "1", "3"]).status).toBe(0);
// A socket file that outlives its process: bound, never closed (close() would unlink it).
const socket = (path: string) =>
  expect(spawnSync(process.execPath, ["-e", `require("node:net").createServer().listen(${JSON.stringify(path)}, () => process.exit(0))`]).status).toBe(0);

describe("a pool with planted special files", () => {
  let pool: TempDir;
  const executor = new ProcessExecutor();
  beforeEach(async () => {
    pool = await makeTempDir();
    await mkdir(pool.file("KVMHA"));
  });
  afterEach(() => pool.remove());

  it.each(WORKERS)("scan skips FIFOs, sockets, symbolic links (and devices, as root) with a counted reason, and reads the rest: $name", async ({ worker }) => {
    await writeFile(pool.file("KVMHA/hb-10.0.0.1"), `${NOW - 5}\n`);
    await writeFile(pool.file("KVMHA/hb-10.0.0.2"), `${NOW - 400}\n`);
    fifo(pool.file("KVMHA/hb-10.0.0.9"));
    fifo(pool.file("KVMHA/hbx-10.0.0.1.json"));
    socket(pool.file("KVMHA/hb-10.0.0.7"));
    await symlink("/etc/hostname", pool.file("KVMHA/hb-10.0.0.6"));
    // Not a file the scan reads: left alone, not counted.
    fifo(pool.file("KVMHA/ac-10.0.0.9"));
    if (root) device(pool.file("KVMHA/hb-10.0.0.8"));

    const result = await scanHeartbeats({ executor, ...worker, mountPoint: pool.path, nowEpochSeconds: NOW, maxAgeSeconds: 60, deadlineMs: 10_000 });
    expect(result.heartbeats.map((h) => [h.host, h.verdict])).toEqual([
      ["10.0.0.1", "alive"],
      ["10.0.0.2", "dead"],
    ]);
    expect(result.heartbeats[0]?.record).toBeNull();
    const skipped = [
      { name: "hb-10.0.0.6", kind: "symbolic link" },
      { name: "hb-10.0.0.7", kind: "socket" },
      ...(root ? [{ name: "hb-10.0.0.8", kind: "character device" }] : []),
      { name: "hb-10.0.0.9", kind: "FIFO" },
      { name: "hbx-10.0.0.1.json", kind: "FIFO" },
    ];
    expect(result.skipped).toEqual(skipped);
  });

  it("reading one heartbeat answers at once for a FIFO (empty, cannot judge) and refuses a symbolic link", async () => {
    fifo(pool.file("KVMHA/hb-10.0.0.9"));
    await symlink("/etc/hostname", pool.file("KVMHA/hb-10.0.0.6"));
    const options = { executor, deadlineMs: 10_000 };
    const [fromFifo, fromLink] = await Promise.all([readHeartbeat(pool.path, "10.0.0.9", options), readHeartbeat(pool.path, "10.0.0.6", options)]);
    expect(fromFifo.kind).not.toBe("timeout");
    expect(fromFifo).toEqual({ kind: "content", text: "" });
    expect(fromLink).toEqual({ kind: "unreadable", message: "a symbolic link: not followed" });
  });

  describe("the activity check", () => {
    const options = (volumes: readonly string[]) => ({
      executor,
      mountPoint: pool.path,
      hostId: "10.0.0.5",
      volumes,
      suspectTime: NOW - 300,
      checkTime: String(NOW),
      nowEpochSeconds: NOW,
      deadlineMs: 10_000,
    });
    beforeEach(async () => {
      await writeFile(pool.file("KVMHA/hb-10.0.0.5"), `${NOW - 200}\n`);
      await writeFile(pool.file("vol-1"), "disk");
      await utimes(pool.file("vol-1"), NOW - 400, NOW - 400);
    });

    it("cannot judge, at once, from a FIFO planted as the ac file, and leaves it in place", async () => {
      fifo(pool.file("KVMHA/ac-10.0.0.5"));
      const result = await checkVmActivity(options(["vol-1"]));
      expect(result).toMatchObject({ decided: false, cause: "ac-unreadable", reason: expect.stringContaining("FIFO") });
      expect(spawnSync("test", ["-p", pool.file("KVMHA/ac-10.0.0.5")]).status).toBe(0);
    });

    it.each([
      ["a symbolic link", (path: string) => symlink("/etc/hostname", path), "symbolic link"],
      ["a folder", (path: string) => mkdir(path), "folder"],
    ])("cannot judge from %s planted as the ac file", async (_what, plant, words) => {
      await plant(pool.file("KVMHA/ac-10.0.0.5"));
      expect(await checkVmActivity(options(["vol-1"]))).toMatchObject({ decided: false, cause: "ac-unreadable", reason: expect.stringContaining(words) });
    });

    it("cannot judge from an ac file larger than any hb or upstream writes, without reading it whole", async () => {
      await writeFile(pool.file("KVMHA/ac-10.0.0.5"), "9".repeat(64 * 1024));
      expect(await checkVmActivity(options(["vol-1"]))).toMatchObject({ decided: false, cause: "ac-unreadable", reason: expect.stringContaining("larger than") });
    });

    it("counts a volume that does not exist as not written (upstream discards stat's error): DEAD on a stale heartbeat", async () => {
      expect(await checkVmActivity(options(["gone"]))).toMatchObject({ decided: true, verdict: "dead", reason: "no-ac-file" });
      expect(await checkVmActivity(options(["vol-1", "gone", "gone/too"]))).toMatchObject({ decided: true, verdict: "dead", reason: "no-new-activity" });
    });

    it("still cannot judge a volume that exists but cannot be stat'ed (ELOOP), beside one that does not exist", async () => {
      await symlink("loop", pool.file("loop"));
      expect(await checkVmActivity(options(["gone", "loop/disk"]))).toMatchObject({ decided: false, cause: "volumes-unreadable", reason: expect.stringContaining("1 volume") });
    });
  });

  it("qemu discovery skips a FIFO planted as a cmdline and reads the others", async () => {
    const procRoot = pool.file("proc");
    for (const pid of ["101", "102"]) await mkdir(join(procRoot, pid), { recursive: true });
    await writeFile(join(procRoot, "101", "cmdline"), "/usr/bin/qemu-kvm\0-drive\0file=/mnt/4f1c/vol-1\0");
    fifo(join(procRoot, "102", "cmdline"));
    const found = await findQemuProcessesUsingMount({ executor, mountPoint: "/mnt/4f1c", procRoot, deadlineMs: 10_000 });
    expect(found.map((process) => process.pid)).toEqual([101]);
  });
});

describe("the mount table (hb.mounts.file)", () => {
  let dir: TempDir;
  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(() => dir.remove());

  it("is refused, not waited for, when it is a FIFO", async () => {
    fifo(dir.file("mounts"));
    await expect(readMountTable(dir.file("mounts"))).rejects.toMatchObject({ code: "MOUNT_TABLE", message: expect.stringContaining("FIFO") });
  });

  it("is refused when it is a device (root: mknod in the temp folder)", async () => {
    if (!root) return;
    device(dir.file("mounts"));
    await expect(readMountTable(dir.file("mounts"))).rejects.toMatchObject({ code: "MOUNT_TABLE", message: expect.stringContaining("character device") });
  });

  it("reads procfs, whose files report size 0, and /proc/mounts, a symbolic link", async () => {
    for (const file of ["/proc/self/mounts", "/proc/mounts"]) {
      const entries = await readMountTable(file);
      expect(entries.some((entry) => entry.target === "/")).toBe(true);
    }
  });

  it("keeps the errno of a failed read (ENOENT here), which tells hb's own faults apart", async () => {
    await expect(readMountTable(dir.file("absent"))).rejects.toMatchObject({ code: "MOUNT_TABLE", errno: "ENOENT" });
    await writeFile(dir.file("big"), "x".repeat(17 * 1024 * 1024));
    await expect(readMountTable(dir.file("big"))).rejects.toMatchObject({ code: "MOUNT_TABLE", message: expect.stringContaining("larger than") });
  });
});
