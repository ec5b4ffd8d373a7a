import { spawnSync } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isMainThread } from "node:worker_threads";
import { faultFsUnavailableReason, mountFaultFs } from "@hb/testkit";
import { describe, expect, it } from "vitest";
import { DEFAULT_MAX_OUTPUT_BYTES, isOwnFaultCode, OWN_FAULT_CODES, ProcessExecutor } from "../src/index.js";
import * as adapters from "../src/adapters/index.js";

const node = process.execPath;

const fuseUnavailable = faultFsUnavailableReason();
if (fuseUnavailable !== null) console.warn(`SKIPPED: ProcessExecutor stuck-cap tests on a hung FUSE mount: ${fuseUnavailable}`);
const prlimitMissing = spawnSync("prlimit", ["--version"]).error !== undefined;
// Descriptors are per process: with worker threads, exhausting them would hit other test files.
const exhaustUnavailable = !isMainThread ? "vitest runs this file in a worker thread" : prlimitMissing ? "prlimit is not installed" : null;
if (exhaustUnavailable !== null) console.warn(`SKIPPED: ProcessExecutor descriptor-exhaustion test: ${exhaustUnavailable}`);

/**
 * Runs `body` with every descriptor of this process in use: the soft RLIMIT_NOFILE lowered with
 * prlimit to a little above what is open, and the rest filled with /dev/null. Restored after.
 */
async function withDescriptorsExhausted<T>(body: () => Promise<T>): Promise<T> {
  const limits = /^Max open files\s+(\d+)\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"));
  if (limits === null) throw new Error("cannot read this process's descriptor limit");
  const [, soft, hard] = limits;
  const prlimit = (value: string) => {
    const result = spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${value}:${hard}`], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`prlimit failed: ${result.stderr}`);
  };
  prlimit(String(readdirSync("/proc/self/fd").length + 32));
  const held: number[] = [];
  try {
    for (;;) {
      try {
        held.push(openSync("/dev/null", "r"));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "EMFILE") break;
        throw error;
      }
    }
    return await body();
  } finally {
    for (const fd of held) closeSync(fd);
    prlimit(soft ?? hard ?? "1024");
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 10_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("ProcessExecutor", () => {
  it("passes arguments verbatim, never through a shell, and returns output and exit code", async () => {
    const executor = new ProcessExecutor();
    const result = await executor.run({ file: node, args: ["-e", "console.log(process.argv[1]); process.exit(3)", "a b; rm -rf /tmp/x $(id)"], deadlineMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 3, stdout: "a b; rm -rf /tmp/x $(id)\n", timedOut: false });
    expect(result.spawnError).toBeUndefined();
  });

  it("gives up on a child at the deadline without waiting for it to exit", async () => {
    const executor = new ProcessExecutor();
    const result = await executor.run({ file: node, args: ["-e", "process.on('SIGTERM',()=>{}); setInterval(()=>{}, 1e6)"], deadlineMs: 300 });
    expect(result).toMatchObject({ timedOut: true, exitCode: null, signal: "SIGKILL" });
    expect(result.durationMs).toBeGreaterThanOrEqual(299);
  });

  it("gives up when the caller aborts", async () => {
    const executor = new ProcessExecutor();
    const controller = new AbortController();
    const pending = executor.run({ file: node, args: ["-e", "setInterval(()=>{}, 1e6)"], deadlineMs: 60_000, signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toMatchObject({ timedOut: true });
  });

  it("says why a program could not be started: spawnError ENOENT, no exit code, not a timeout", async () => {
    const result = await new ProcessExecutor().run({ file: "hb-no-such-program", args: [], deadlineMs: 5_000 });
    expect(result).toMatchObject({ exitCode: null, timedOut: false, spawnError: "ENOENT", stderr: expect.stringMatching(/ENOENT/) });
    expect(isOwnFaultCode(result.spawnError)).toBe(false);
  });

  it("returns a spawn that throws at once as a result too, never a rejection", async () => {
    const result = await new ProcessExecutor().run({ file: node, args: ["-e", "0", "a\0b"], deadlineMs: 5_000 });
    expect(result).toMatchObject({ exitCode: null, timedOut: false, spawnError: "ERR_INVALID_ARG_VALUE" });
  });

  it.skipIf(exhaustUnavailable !== null)("returns a real EMFILE (this process out of descriptors) as spawnError, hb's own fault, and runs again once descriptors are free", async () => {
    const executor = new ProcessExecutor();
    const result = await withDescriptorsExhausted(() => executor.run({ file: node, args: ["-e", "0"], deadlineMs: 5_000 }));
    expect(result).toMatchObject({ exitCode: null, timedOut: false, spawnError: "EMFILE" });
    expect(isOwnFaultCode(result.spawnError)).toBe(true);
    expect(executor.stuck).toBe(0);
    expect(await executor.run({ file: node, args: ["-e", "0"], deadlineMs: 10_000 })).toMatchObject({ exitCode: 0 });
  });

  // A program that prints without end: before the cap, hb's memory grew until V8 threw an
  // uncaught RangeError (Invalid string length) and the process died.
  const flood = (fd: 1 | 2) => ["-e", `const b = Buffer.alloc(65536, 120); for (;;) require("fs").writeSync(${fd}, b)`];

  it("kills a child that prints more than maxOutputBytes on stdout, keeps that much, and names the program", async () => {
    const executor = new ProcessExecutor();
    const result = await executor.run({ file: node, args: flood(1), deadlineMs: 120_000, maxOutputBytes: 1_000_000 });
    expect(result).toMatchObject({ overflow: "stdout", exitCode: null, signal: "SIGKILL", timedOut: false });
    expect(result.stdout.length).toBe(1_000_000);
    expect(result.stderr.trim().split("\n").at(-1)).toBe(`${node}: killed: printed more than 1000000 bytes on stdout`);
  });

  it("caps stderr as well, and every stream by default", async () => {
    const executor = new ProcessExecutor();
    const stderr = await executor.run({ file: node, args: flood(2), deadlineMs: 120_000, maxOutputBytes: 100_000 });
    expect(stderr).toMatchObject({ overflow: "stderr", exitCode: null, timedOut: false });
    expect(stderr.stderr.startsWith("x".repeat(100_000))).toBe(true);
    const byDefault = await executor.run({ file: node, args: flood(1), deadlineMs: 120_000 });
    expect(byDefault).toMatchObject({ overflow: "stdout", timedOut: false });
    expect(byDefault.stdout.length).toBe(DEFAULT_MAX_OUTPUT_BYTES);
    const ownDefault = await new ProcessExecutor({ maxOutputBytes: 4096 }).run({ file: node, args: flood(1), deadlineMs: 120_000 });
    expect(ownDefault).toMatchObject({ overflow: "stdout", stdout: "x".repeat(4096) });
    // A cap that is no number of bytes falls back to the default instead of lifting the bound.
    const nonsense = await new ProcessExecutor({ maxOutputBytes: 4096 }).run({ file: node, args: flood(1), deadlineMs: 120_000, maxOutputBytes: Number.NaN });
    expect(nonsense).toMatchObject({ overflow: "stdout", stdout: "x".repeat(4096) });
  });

  it("returns output up to the cap whole, with no overflow, and decodes characters split across chunks", async () => {
    const executor = new ProcessExecutor();
    const text = "é".repeat(100_000); // 200 000 bytes, arriving in several chunks
    const result = await executor.run({ file: node, args: ["-e", `process.stdout.write("é".repeat(100000))`], deadlineMs: 30_000, maxOutputBytes: 200_000 });
    expect(result).toMatchObject({ exitCode: 0, timedOut: false });
    expect(result.stdout === text).toBe(true);
    expect(result.overflow).toBeUndefined();
  });

  it("feeds input on stdin", async () => {
    const executor = new ProcessExecutor();
    const result = await executor.run({ file: node, args: ["-e", "process.stdin.pipe(process.stdout)"], deadlineMs: 10_000, input: "1764000000\n" });
    expect(result.stdout).toBe("1764000000\n");
  });

  it("sets a request's variables on top of the inherited environment, and only for that child", async () => {
    const executor = new ProcessExecutor();
    const print = ["-e", "process.stdout.write(`${process.env.LC_ALL}/${process.env.PATH === undefined}`)"];
    expect((await executor.run({ file: node, args: print, deadlineMs: 10_000, env: { LC_ALL: "C" } })).stdout).toBe("C/false");
    expect((await executor.run({ file: node, args: print, deadlineMs: 10_000 })).stdout).toBe(`${process.env.LC_ALL}/false`);
  });

  // A reader blocked in the kernel on a hung FUSE mount stays in D state after SIGKILL until the
  // mount answers: exactly the child a hung NFS pool leaves behind.
  it.skipIf(fuseUnavailable !== null)("caps stuck children per group: past the cap a request of that group is refused at once as a timeout; other groups run", async () => {
    // open is a synchronous FUSE request: once the server holds it, SIGKILL cannot end the wait
    // (a read may wait on the page instead, which is killable).
    const faultFs = await mountFaultFs({ files: { "KVMHA/hb-10.0.0.1": "1764000000\n", "KVMHA/hb-10.0.0.2": "1764000000\n", "KVMHA/hb-10.0.0.3": "1764000000\n" } });
    try {
      await faultFs.setFault({ hang: true, ops: ["open"] });
      const executor = new ProcessExecutor({ maxStuckPerGroup: 2 });
      const file = (n: number) => join(faultFs.mountPoint, "KVMHA", `hb-10.0.0.${n}`);
      const group = faultFs.mountPoint;
      for (let held = 1; held <= 2; held++) {
        const controller = new AbortController();
        const pending = executor.run({ file: "cat", args: [file(held)], deadlineMs: 60_000, signal: controller.signal, group });
        await faultFs.waitForHeld(held);
        controller.abort(); // SIGKILL; the child stays blocked in the kernel
        expect(await pending).toMatchObject({ timedOut: true, signal: "SIGKILL" });
      }
      expect(executor.stuckIn(group)).toBe(2);
      expect(executor.stuck).toBe(2);

      const refused = await executor.run({ file: "cat", args: [file(3)], deadlineMs: 60_000, group });
      expect(refused).toMatchObject({ refused: "stuck-cap", timedOut: true, exitCode: null, stderr: expect.stringMatching(/2 earlier children .* stuck/) });
      expect(faultFs.held()).toBe(2); // nothing new was started
      expect(await executor.run({ file: node, args: ["-e", "0"], deadlineMs: 10_000, group: "/other-pool" })).toMatchObject({ exitCode: 0 });
      expect(executor.stuckIn("/other-pool")).toBe(0);

      // The mount answers: the killed children exit, and the group runs again.
      await faultFs.setFault({});
      await until(() => executor.stuck === 0, "the stuck children to exit");
      expect(executor.stuckIn(group)).toBe(0);
      expect(await executor.run({ file: "cat", args: [file(3)], deadlineMs: 10_000, group })).toMatchObject({ exitCode: 0, stdout: "1764000000\n" });
    } finally {
      await faultFs.unmount();
    }
  });

  it("is reachable from the light entry point, with the own-fault codes", () => {
    expect(adapters.ProcessExecutor).toBe(ProcessExecutor);
    expect(adapters.OWN_FAULT_CODES).toEqual(["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"]);
    expect(OWN_FAULT_CODES.every((code) => isOwnFaultCode(code))).toBe(true);
    expect([undefined, null, "", "EIO", "ENOENT", "ETIMEDOUT"].some((code) => isOwnFaultCode(code))).toBe(false);
  });
});
