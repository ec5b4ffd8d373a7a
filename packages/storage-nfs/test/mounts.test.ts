// ensureMounted with real mount programs on PATH (src/mounts.test.ts: the mount table alone).
import { chmod, readFile, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, MOUNT_TABLE as TABLE, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ensureMounted, UnsafeMountArgumentError, UPSTREAM_MOUNT_OPTIONS, validateRemountPoint } from "../src/index.js";

describe("ensureMounted (upstream's remount, then a second look at the mount table)", () => {
  let dir: TempDir;
  let mounts: string;
  const executor = new ProcessExecutor();

  // A fake mount(8): records its arguments, and mounts (adds the table line), does nothing, or fails.
  async function fakeMount(behaviour: "mounts" | "does-nothing" | "fails" | "hangs"): Promise<string> {
    const program = dir.file(`mount-${behaviour}`);
    const body = {
      // After "-o OPTIONS --": source and target are $4 and $5.
      mounts: `printf '%s %s nfs4 rw,relatime 0 0\\n' "$4" "$5" >> '${mounts}'`,
      "does-nothing": "true",
      fails: "echo 'mount.nfs: Connection refused' >&2; exit 32",
      hangs: "exec sleep 30",
    }[behaviour];
    await writeFile(program, `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir.file("mount-args")}'\n${body}\n`);
    await chmod(program, 0o755);
    return program;
  }

  beforeEach(async () => {
    dir = await makeTempDir();
    mounts = dir.file("mounts");
    await writeFile(mounts, TABLE);
  });
  afterEach(() => dir.remove());

  const options = (mountProgram: string, mountPoint = "/mnt/9a9a") => ({
    executor,
    server: "10.0.0.2",
    exportPath: "/export/primary",
    mountPoint,
    mountsFile: mounts,
    deadlineMs: 5_000,
    mountProgram,
  });

  it("leaves a mounted pool alone", async () => {
    const result = await ensureMounted(options(await fakeMount("fails"), "/mnt/4f1c"));
    expect(result.state).toBe("mounted");
  });

  it("remounts a missing pool with upstream's arguments and options, and confirms it in the table", async () => {
    const result = await ensureMounted(options(await fakeMount("mounts")));
    expect(result).toMatchObject({ state: "remounted", entry: { source: "10.0.0.2:/export/primary", target: "/mnt/9a9a" } });
    expect((await readFile(dir.file("mount-args"), "utf8")).split("\n")).toEqual(["-o", UPSTREAM_MOUNT_OPTIONS, "--", "10.0.0.2:/export/primary", "/mnt/9a9a", ""]);
  });

  it.each([
    ["an NFS server that mount would read as an option", { server: "-obind,remount" }, /the NFS server "-obind,remount" begins with "-", which mount would read as an option: refused/],
    ["a server with a blank", { server: "10.0.0.2 -o" }, /no valid NFS server given/],
    ["an export that is not an absolute path", { exportPath: "-oremount" }, /the export path is not an absolute path/],
  ])("refuses %s before mount runs", async (_what, bad, message) => {
    const program = await fakeMount("mounts");
    await expect(ensureMounted({ ...options(program), ...bad })).rejects.toSatisfy((error) => error instanceof UnsafeMountArgumentError && error.code === "REMOUNT_FAILED" && message.test(error.message));
    await expect(readFile(dir.file("mount-args"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it.each(["/", "/etc", "/etc/ssh", "/usr", "/usr/local/share", "/var", "/boot", "/proc", "/sys/fs", "/dev", "/run", "/home", "/root", "/tmp", "/mnt", "/lib64"])(
    "never remounts over the system folder %s",
    async (mountPoint) => {
      const program = await fakeMount("mounts");
      await expect(ensureMounted(options(program, mountPoint))).rejects.toMatchObject({ code: "INVALID_MOUNT_POINT", message: expect.stringMatching(/a system folder: hb never mounts a pool over it/) });
      await expect(readFile(dir.file("mount-args"))).rejects.toMatchObject({ code: "ENOENT" });
    },
  );

  it("remounts where pools live, below /mnt, /var/lib or elsewhere", () => {
    for (const mountPoint of ["/mnt/4f1c", "/var/lib/cloudstack/mnt/4f1c", "/srv/pools/a", "/export/x"]) expect(validateRemountPoint(mountPoint)).toBe(mountPoint);
  });

  it("refuses a mount that exited 0 but is not in the table (the heartbeat would land on the local disk)", async () => {
    await expect(ensureMounted(options(await fakeMount("does-nothing")))).rejects.toMatchObject({ code: "REMOUNT_FAILED", message: expect.stringMatching(/shows no NFS mount/) });
  });

  it("reports a failing mount with its message", async () => {
    await expect(ensureMounted(options(await fakeMount("fails")))).rejects.toMatchObject({ code: "REMOUNT_FAILED", message: expect.stringMatching(/exited with 32: mount.nfs: Connection refused/) });
  });

  it("gives up on a hanging mount at its deadline", async () => {
    await expect(ensureMounted({ ...options(await fakeMount("hangs")), deadlineMs: 300 })).rejects.toMatchObject({ code: "REMOUNT_FAILED", message: expect.stringMatching(/within 300 ms/) });
  });

  it("names an unreadable mount table", async () => {
    await expect(ensureMounted({ ...options(await fakeMount("mounts")), mountsFile: dir.file("nope") })).rejects.toMatchObject({ code: "MOUNT_TABLE" });
  });
});
