import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { commandLineUsesMount, findQemuProcessesUsingMount, killQemuProcessesUsingMount } from "../src/index.js";

const MOUNT = "/mnt/4f1c";

describe("whether a qemu command line uses a mount", () => {
  it.each([
    [["qemu-system-x86_64", "-drive", "file=/mnt/4f1c/vol-1,format=qcow2,if=none"], true],
    [["qemu-kvm", "-blockdev", '{"driver":"file","filename":"/mnt/4f1c/vol-1","node-name":"libvirt-1-storage"}'], true],
    [["qemu-kvm", "-drive", "file=/mnt/4f1c,format=raw"], true],
    [["qemu-kvm", "-cdrom", "/mnt/4f1c/iso/boot.iso"], true],
    [["qemu-kvm", "-drive", "file=/mnt/4f1c2/vol-1,format=qcow2"], false],
    [["qemu-kvm", "-drive", "file=/srv/mnt/4f1c/vol-1"], false],
    [["qemu-kvm", "-name", "guest=mnt4f1c"], false],
    [["qemu-kvm", "-drive", "file=/mnt/4f1cx"], false],
  ])("%j → %s", (argv, expected) => {
    expect(commandLineUsesMount(argv, MOUNT)).toBe(expected);
  });

  it("understands qemu's doubled commas in a path", () => {
    expect(commandLineUsesMount(["qemu-kvm", "-drive", "file=/mnt/a,,b/vol,format=raw"], "/mnt/a,b")).toBe(true);
  });
});

describe("finding qemu processes on a mount", () => {
  let dir: TempDir;
  const executor = new ProcessExecutor();

  beforeEach(async () => {
    dir = await makeTempDir();
  });
  afterEach(() => dir.remove());

  async function fakeProcess(pid: number, argv: readonly string[]): Promise<void> {
    await mkdir(join(dir.path, String(pid)));
    await writeFile(join(dir.path, String(pid), "cmdline"), `${argv.join("\0")}\0`);
  }

  it("reads /proc/*/cmdline (here a fake proc root) and keeps qemu processes that use the mount", async () => {
    await fakeProcess(101, ["/usr/bin/qemu-system-x86_64", "-drive", "file=/mnt/4f1c/vol-1,format=qcow2"]);
    await fakeProcess(102, ["/usr/bin/qemu-system-x86_64", "-drive", "file=/mnt/4f1c2/vol-1,format=qcow2"]);
    await fakeProcess(103, ["/usr/bin/vim", "/mnt/4f1c/notes"]);
    await fakeProcess(104, ["/usr/libexec/qemu-kvm", "-blockdev", '{"driver":"file","filename":"/mnt/4f1c/vol-2"}']);
    await mkdir(join(dir.path, "self"));
    await mkdir(join(dir.path, "105"));
    const found = await findQemuProcessesUsingMount({ executor, mountPoint: MOUNT, procRoot: dir.path, deadlineMs: 10_000 });
    expect(found.map((process) => process.pid).sort()).toEqual([101, 104]);
  });

  it("names a process table it cannot read", async () => {
    await expect(findQemuProcessesUsingMount({ executor, mountPoint: MOUNT, procRoot: dir.file("nope"), deadlineMs: 10_000 })).rejects.toMatchObject({ code: "PROCESS_DISCOVERY" });
  });

  it("kills through the injected function and reports the pids", async () => {
    await fakeProcess(201, ["qemu-kvm", "-drive", "file=/mnt/4f1c/vol-1"]);
    await fakeProcess(202, ["qemu-kvm", "-drive", "file=/mnt/4f1c/vol-2"]);
    const signalled: number[] = [];
    const result = await killQemuProcessesUsingMount({
      executor,
      mountPoint: MOUNT,
      procRoot: dir.path,
      deadlineMs: 10_000,
      kill: (pid) => (signalled.push(pid), pid === 201),
    });
    expect(signalled.sort()).toEqual([201, 202]);
    expect(result).toEqual({ killed: [201], gone: [202] });
  });
});

describe("against real processes in /proc", () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const child of children.splice(0)) child.kill("SIGKILL");
  });

  // A long-lived process whose command line reads like a qemu with a disk at `disk`.
  function fakeQemu(disk: string): ChildProcess {
    const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1e6)", "--", "-drive", `file=${disk},format=qcow2`], { argv0: "qemu-system-x86_64", stdio: "ignore" });
    children.push(child);
    return child;
  }

  it("kills the qemu on the mount with SIGKILL and spares the one on a mount whose name merely starts the same", async () => {
    const mount = `/mnt/hb-test-${process.pid}`;
    const onMount = fakeQemu(`${mount}/vol-1`);
    const elsewhere = fakeQemu(`${mount}2/vol-1`);
    const exited = new Promise<NodeJS.Signals | null>((resolve) => onMount.once("exit", (_code, signal) => resolve(signal)));
    const result = await killQemuProcessesUsingMount({
      executor: new ProcessExecutor(),
      mountPoint: mount,
      deadlineMs: 10_000,
      kill: (pid) => {
        try {
          return process.kill(pid, "SIGKILL");
        } catch {
          return false;
        }
      },
    });
    expect(result.killed).toEqual([onMount.pid]);
    expect(await exited).toBe("SIGKILL");
    expect(elsewhere.exitCode).toBeNull();
    expect(elsewhere.signalCode).toBeNull();
  });
});
