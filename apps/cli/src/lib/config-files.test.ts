import { spawnSync } from "node:child_process";
import { lstat, readFile, readlink, symlink, truncate, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { readScriptConfig } from "./config.js";
import { runHb } from "../../test/harness.js";

// agent.properties as a hostile local user could leave it: real FIFOs and device nodes made in a
// temp folder (never /dev). Before, a FIFO hung every command, /dev/zero grew `hb config show` to
// gigabytes, and `hb config set --file /dev/null` replaced the device with a regular file.
const temp = await makeTempDir("hb-config-files-");
afterAll(() => temp.remove());
const isRoot = process.getuid?.() === 0;
const fifo = temp.file("fifo.properties");
const zero = temp.file("zero");
const devNull = temp.file("null");
beforeAll(() => {
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  if (isRoot) {
    expect(spawnSync("mknod", [zero, "c", "1", "5"]).status).toBe(0);
    expect(spawnSync("mknod", [devNull, "c", "1", "3"]).status).toBe(0);
  }
});

const COMMANDS = [
  ["config", "show"],
  ["config", "show", "--json"],
  ["config", "validate"],
  ["config", "get", "kvm.heartbeat.fence.action"],
  ["config", "set", "foo", "bar"],
  ["config", "unset", "foo"],
].map((argv) => [argv.join(" "), argv] as const);

/** One line on stderr naming the file, no stack, a failing exit that is not an internal error. */
function expectRefused(result: { code: number; stdout: string; stderr: string }, line: string): void {
  expect(result.stderr).toBe(`hb: ${line}\n`);
  expect(result.stdout).toBe("");
  expect(result.code).not.toBe(0);
  expect(result.code).not.toBe(70);
}

describe("hb config on a file that is not a regular file", () => {
  it.each(COMMANDS)("hb %s refuses a FIFO at once, as --file and as $AGENT_PROPS", async (_label, argv) => {
    expectRefused(await runHb([...argv, "--file", fifo]), `${fifo} is a FIFO, not a regular file: not read`);
    expectRefused(await runHb(argv, { env: { AGENT_PROPS: fifo } }), `${fifo} is a FIFO, not a regular file: not read`);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  it.runIf(isRoot).each(COMMANDS)("hb %s refuses /dev/zero's device node, reached through a link, without reading it", async (_label, argv) => {
    const link = temp.file(`zero-${argv.join("-")}.properties`);
    await symlink(zero, link);
    expectRefused(await runHb([...argv, "--file", link]), `${link} is a character device, not a regular file: not read`);
  });

  it.runIf(isRoot)("hb config set --file on /dev/null's device node refuses and leaves the device", async () => {
    expectRefused(await runHb(["config", "set", "foo", "bar", "--file", devNull]), `${devNull} is a character device, not a regular file: not read`);
    expect((await lstat(devNull)).isCharacterDevice()).toBe(true);
  });

  it("hb config show refuses a file over 1 MiB", async () => {
    const big = temp.file("big.properties");
    await writeFile(big, "kvm.heartbeat.fence.action=log-only\n");
    await truncate(big, 1024 * 1024 + 1);
    expectRefused(await runHb(["config", "show", "--file", big]), `${big} is larger than 1 MiB: not read`);
  });

  it("hb config set through a symbolic link edits the link's target and keeps the link", async () => {
    const target = temp.file("real.properties");
    const link = temp.file("link.properties");
    await writeFile(target, "# agent\nkvm.heartbeat.fence.action=reboot\n");
    await symlink(target, link);
    const result = await runHb(["config", "set", "kvm.heartbeat.fence.action", "graceful-reboot", "--file", link]);
    expect(result).toMatchObject({ code: 0, stderr: "" });
    expect(await readlink(link)).toBe(target);
    expect(await readFile(target, "utf8")).toBe("# agent\nkvm.heartbeat.fence.action=graceful-reboot\n");
  });
});

describe("the fence run the agent starts, on such a file", () => {
  it("does not hang on a FIFO: CloudStack's defaults, and a notice naming the file", async () => {
    const config = await readScriptConfig(fifo);
    expect(config.values["kvm.heartbeat.fence.action"]).toBe("hard-reboot");
    expect(config.notices).toEqual([`${fifo} is a FIFO, not a regular file: not read; using CloudStack's defaults`]);
  });
});
