import { spawnSync } from "node:child_process";
import { chmod, chown, lstat, mkdir, readdir, readFile, readlink, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { readLocalFile, readLocalFileSync, writeLocalFile } from "./files.js";

const temp = await makeTempDir("hb-files-");
const isRoot = process.getuid?.() === 0;
let socketServer: Server;
afterAll(async () => {
  await new Promise((resolve) => socketServer.close(resolve));
  await temp.remove();
});

// Real special files in the temp folder, never /dev: a FIFO with no writer (an open without
// O_NONBLOCK waits for one forever), a unix socket, a folder, and as root the device nodes of
// /dev/zero (endless) and /dev/null (which a write must never replace).
const fifo = temp.file("fifo");
const socket = temp.file("socket");
const folder = temp.file("folder");
const zero = temp.file("zero");
const devNull = temp.file("null");
beforeAll(async () => {
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  socketServer = createServer();
  await new Promise<void>((resolve) => socketServer.listen(socket, resolve));
  await mkdir(folder);
  if (isRoot) {
    expect(spawnSync("mknod", [zero, "c", "1", "5"]).status).toBe(0);
    expect(spawnSync("mknod", [devNull, "c", "1", "3"]).status).toBe(0);
  }
});

const MiB = 1024 * 1024;
const readers = [
  ["readLocalFile", readLocalFile],
  ["readLocalFileSync", async (path: string, options: Parameters<typeof readLocalFile>[1]) => readLocalFileSync(path, options)],
] as const;

describe.each(readers)("%s", (_name, read) => {
  it("reads a regular file whole", async () => {
    const file = temp.file("plain");
    await writeFile(file, "a=1\n");
    expect((await read(file, { maxBytes: MiB })).toString()).toBe("a=1\n");
  });

  it.each([
    ["a FIFO", () => fifo, "FIFO"],
    ["a socket", () => socket, "socket"],
    ["a folder", () => folder, "folder"],
  ])("refuses %s at once with FILE_NOT_REGULAR naming the path", async (_label, path, kind) => {
    await expect(read(path(), { maxBytes: MiB })).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind, path: path(), message: `${path()} is a ${kind}, not a regular file: not read` });
  });

  it.runIf(isRoot)("refuses a device node (here /dev/zero's), even through a followed link, without reading it", async () => {
    await expect(read(zero, { maxBytes: MiB })).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "character device" });
    const link = temp.file(`zero-link-${_name}`);
    await symlink(zero, link);
    await expect(read(link, { maxBytes: MiB, followLinks: true })).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "character device", path: link });
  });

  it("refuses a symbolic link unless links are followed", async () => {
    const target = temp.file(`target-${_name}`);
    const link = temp.file(`link-${_name}`);
    await writeFile(target, "x");
    await symlink(target, link);
    await expect(read(link, { maxBytes: MiB })).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "symbolic link", path: link });
    expect((await read(link, { maxBytes: MiB, followLinks: true })).toString()).toBe("x");
  });

  it("caps the size: the cap itself is read, one byte more is FILE_TOO_LARGE, a sparse 4 GiB file is refused unread", async () => {
    const file = temp.file(`sized-${_name}`);
    await writeFile(file, Buffer.alloc(100, 0x61));
    expect((await read(file, { maxBytes: 100 })).length).toBe(100);
    await writeFile(file, Buffer.alloc(101, 0x61));
    await expect(read(file, { maxBytes: 100 })).rejects.toMatchObject({ code: "FILE_TOO_LARGE", maxBytes: 100, message: `${file} is larger than 100 bytes: not read` });
    await truncate(file, 4 * 1024 * MiB);
    await expect(read(file, { maxBytes: MiB })).rejects.toMatchObject({ code: "FILE_TOO_LARGE", message: `${file} is larger than 1 MiB: not read` });
  });

  it("stops at the cap when the size the file reports is wrong (procfs says 0 bytes)", async () => {
    // /proc/self/mountinfo is a regular file of size 0 with content: only the bytes read count.
    await expect(read("/proc/self/mountinfo", { maxBytes: 8 })).rejects.toMatchObject({ code: "FILE_TOO_LARGE" });
  });

  it("names a missing file: LOCAL_FILE with the system's errno", async () => {
    const missing = temp.file("missing");
    await expect(read(missing, { maxBytes: MiB })).rejects.toMatchObject({ code: "LOCAL_FILE", errno: "ENOENT", path: missing, message: `cannot read ${missing}: no such file` });
  });
});

describe("writeLocalFile", () => {
  it("creates a new file with the mode asked for, leaving no temporary file", async () => {
    const dir = temp.file("new");
    await mkdir(dir);
    await writeLocalFile(`${dir}/state.json`, "{}\n", { mode: 0o600 });
    expect(await readFile(`${dir}/state.json`, "utf8")).toBe("{}\n");
    expect((await stat(`${dir}/state.json`)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(["state.json"]);
  });

  it.runIf(isRoot)("replaces a file keeping its mode and owner", async () => {
    const file = temp.file("owned");
    await writeFile(file, "old\n");
    await chown(file, 65534, 65534);
    await chmod(file, 0o640);
    await writeLocalFile(file, "new\n");
    const after = await stat(file);
    expect([after.uid, after.gid, after.mode & 0o7777]).toEqual([65534, 65534, 0o640]);
    expect(await readFile(file, "utf8")).toBe("new\n");
  });

  it.each([
    ["a FIFO", () => fifo, "FIFO"],
    ["a socket", () => socket, "socket"],
    ["a folder", () => folder, "folder"],
  ])("never replaces %s: FILE_NOT_REGULAR, and it is still there", async (_label, path, kind) => {
    const before = await lstat(path());
    await expect(writeLocalFile(path(), "x\n")).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind, message: `${path()} is a ${kind}, not a regular file: not replaced` });
    expect((await lstat(path())).ino).toBe(before.ino);
    expect((await readdir(temp.path)).filter((name) => name.includes(".hb-"))).toEqual([]);
  });

  it.runIf(isRoot)("never replaces a device node (here /dev/null's), even through a followed link", async () => {
    await expect(writeLocalFile(devNull, "x\n")).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "character device" });
    const link = temp.file("null-link");
    await symlink(devNull, link);
    await expect(writeLocalFile(link, "x\n", { followLinks: true })).rejects.toMatchObject({
      code: "FILE_NOT_REGULAR",
      message: `${link} (→ ${devNull}) is a character device, not a regular file: not replaced`,
    });
    expect((await lstat(devNull)).isCharacterDevice()).toBe(true);
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });

  it("refuses a symbolic link by default; with followLinks edits the target and keeps the link", async () => {
    const target = temp.file("w-target");
    const link = temp.file("w-link");
    await writeFile(target, "a=1\n");
    await symlink(target, link);
    await expect(writeLocalFile(link, "a=2\n")).rejects.toMatchObject({ code: "FILE_NOT_REGULAR", kind: "symbolic link" });
    expect(await readFile(target, "utf8")).toBe("a=1\n");
    await writeLocalFile(link, "a=2\n", { followLinks: true });
    expect(await readlink(link)).toBe(target);
    expect(await readFile(target, "utf8")).toBe("a=2\n");
  });

  it("refuses a dangling link rather than create a file where it points", async () => {
    const link = temp.file("dangling");
    await symlink(temp.file("nowhere"), link);
    await expect(writeLocalFile(link, "x\n", { followLinks: true })).rejects.toMatchObject({ code: "LOCAL_FILE", errno: "ENOENT" });
    await expect(lstat(temp.file("nowhere"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  // As uid 65534 in a folder anyone may write: renaming over root's file would hand it to 65534.
  it.runIf(isRoot && typeof process.seteuid === "function")("refuses, leaving the file as it was, when its owner cannot be kept", async () => {
    const dir = temp.file("shared");
    await chmod(temp.path, 0o755);
    await mkdir(dir);
    await chmod(dir, 0o777);
    const file = `${dir}/agent.properties`;
    await writeFile(file, "a=1\n");
    await chmod(file, 0o666);
    process.setegid?.(65534);
    process.seteuid?.(65534);
    let outcome: unknown;
    try {
      outcome = await writeLocalFile(file, "a=2\n").catch((error: unknown) => error);
    } finally {
      process.seteuid?.(0);
      process.setegid?.(0);
    }
    expect(outcome).toMatchObject({ code: "LOCAL_FILE", errno: "EPERM", message: `cannot write ${file}: its owner 0:0 cannot be kept (operation not permitted); left unchanged` });
    const after = await stat(file);
    expect([after.uid, await readFile(file, "utf8"), await readdir(dir)]).toEqual([0, "a=1\n", ["agent.properties"]]);
  });

  it("names the path when the system refuses: LOCAL_FILE", async () => {
    const path = temp.file("no-such-folder/file");
    await expect(writeLocalFile(path, "x")).rejects.toMatchObject({ code: "LOCAL_FILE", errno: "ENOENT", message: `cannot write ${path}: no such file` });
  });
});
