import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { faultFsUnavailableReason, mountFaultFs } from "@hb/testkit";
import { afterEach, describe, expect, it } from "vitest";
import type { ExecRequest } from "../ports.js";
import { FileExecutor } from "./file-executor.js";
import { ProcessExecutor } from "./process-executor.js";

const node = process.execPath;

const fuseUnavailable = faultFsUnavailableReason();
if (fuseUnavailable !== null) console.warn(`SKIPPED: keep-alive stuck-cap test on a hung FUSE mount: ${fuseUnavailable}`);

/** A worker in Node: `body` gets each line of input (as `line`) and answers through `reply(text)`. */
function worker(body: string): string[] {
  const script = `
    const reply = (text) => process.stdout.write(text + "\\n");
    let buffered = "";
    process.stdin.setEncoding("utf8");
    process.stdin.on("data", (data) => {
      buffered += data;
      for (let at = buffered.indexOf("\\n"); at >= 0; at = buffered.indexOf("\\n")) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        ${body}
      }
    });`;
  return ["-e", script];
}

/** Answers every line with its pid: the same pid twice is the same child. */
const pidWorker = worker("reply(String(process.pid));");
/** Answers with its pid, except "hang" (never answered), "die" (exit 3 with a word on stderr) and "twice" (two lines). */
const moodyWorker = worker(`
  if (line === "hang") return;
  if (line === "die") { process.stderr.write("worker: giving up\\n"); process.exit(3); }
  if (line === "twice") { process.stdout.write(process.pid + "\\nnot asked for\\n"); return; }
  reply(String(process.pid));`);

const executors: ProcessExecutor[] = [];
function executor(options?: ConstructorParameters<typeof ProcessExecutor>[0]): ProcessExecutor {
  const made = new ProcessExecutor(options);
  executors.push(made);
  return made;
}
afterEach(() => {
  for (const made of executors.splice(0)) made.releaseAll();
});

function ask(on: ProcessExecutor | FileExecutor, key: string, input: string, more: Partial<ExecRequest> = {}) {
  return on.run({ file: node, args: moodyWorker, deadlineMs: 10_000, keepAlive: key, input, ...more });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 20) {
    if (waited > 8_000) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("ProcessExecutor with keepAlive", () => {
  it("answers each line with the first line of the reply, from one child per key", async () => {
    const exec = executor();
    const echoed = await exec.run({ file: "cat", args: [], deadlineMs: 10_000, keepAlive: "/pool/cat", input: "1764000000 a b; $(id)" });
    expect(echoed).toMatchObject({ exitCode: 0, signal: null, stdout: "1764000000 a b; $(id)", stderr: "", timedOut: false });

    const first = await ask(exec, "/pool/a", "x");
    const again = await ask(exec, "/pool/a", "y");
    const other = await ask(exec, "/pool/b", "x");
    expect(first).toMatchObject({ exitCode: 0, timedOut: false });
    expect(again.stdout).toBe(first.stdout);
    expect(other.stdout).not.toBe(first.stdout);
    expect(exec.kept).toBe(3);
  });

  it("starts a new child for a key whose program or arguments changed, and ends the old one", async () => {
    const exec = executor();
    const first = Number((await exec.run({ file: node, args: pidWorker, deadlineMs: 10_000, keepAlive: "/pool", input: "x" })).stdout);
    const changed = Number((await exec.run({ file: node, args: [...pidWorker, "changed"], deadlineMs: 10_000, keepAlive: "/pool", input: "x" })).stdout);
    expect(changed).toBeGreaterThan(0);
    expect(changed).not.toBe(first);
    await until(() => !alive(first), "the replaced child to exit");
    expect(exec.kept).toBe(1);
  });

  it("refuses input of more than one line without starting anything", async () => {
    const exec = executor();
    expect(await ask(exec, "/pool", "a\nb")).toMatchObject({ exitCode: null, signal: null, stdout: "", stderr: "keep-alive input must be one line", timedOut: false });
    expect(exec.kept).toBe(0);
  });

  it("kills a child that misses its deadline, counts it until it exits, and starts a fresh one", async () => {
    const exec = executor();
    const group = "/pool";
    const first = Number((await ask(exec, "/pool", "x", { group })).stdout);
    const late = await ask(exec, "/pool", "hang", { group, deadlineMs: 300 });
    expect(late).toMatchObject({ exitCode: null, signal: "SIGKILL", stdout: "", stderr: "", timedOut: true });
    expect(late.durationMs).toBeGreaterThanOrEqual(299);
    expect(exec.stuckIn(group)).toBe(1); // killed, not yet seen to exit
    expect(exec.kept).toBe(0);
    await until(() => exec.stuck === 0, "the killed child to exit");
    expect(alive(first)).toBe(false);
    const next = Number((await ask(exec, "/pool", "x", { group })).stdout);
    expect(next).not.toBe(first);
  });

  it("kills the child when the caller aborts", async () => {
    const exec = executor();
    const first = Number((await ask(exec, "/pool", "x")).stdout);
    const controller = new AbortController();
    const pending = ask(exec, "/pool", "hang", { signal: controller.signal, deadlineMs: 60_000 });
    setTimeout(() => controller.abort(), 100);
    expect(await pending).toMatchObject({ timedOut: true, signal: "SIGKILL" });
    await until(() => !alive(first), "the aborted child to exit");
  });

  it("reports a child that dies before answering, with its exit code and stderr, and starts a fresh one", async () => {
    const exec = executor();
    const first = Number((await ask(exec, "/pool", "x")).stdout);
    const died = await ask(exec, "/pool", "die");
    expect(died).toMatchObject({ exitCode: 3, signal: null, stdout: "", stderr: "worker: giving up\n", timedOut: false });
    expect(exec.kept).toBe(0);
    expect(Number((await ask(exec, "/pool", "x")).stdout)).not.toBe(first);
  });

  it("drops a child that dies while idle", async () => {
    const exec = executor();
    const first = Number((await ask(exec, "/pool", "x")).stdout);
    process.kill(first, "SIGKILL");
    await until(() => exec.kept === 0, "the dead child to be dropped");
    expect(Number((await ask(exec, "/pool", "x")).stdout)).not.toBe(first);
  });

  it("returns the first line of a reply that has two, and ends that child: it is out of step", async () => {
    const exec = executor();
    const twice = await ask(exec, "/pool", "twice");
    expect(twice).toMatchObject({ exitCode: 0, timedOut: false });
    const first = Number(twice.stdout);
    expect(Number.isInteger(first)).toBe(true);
    expect(Number((await ask(exec, "/pool", "x")).stdout)).not.toBe(first);
  });

  it("reports a program that cannot be started, and keeps nothing", async () => {
    const exec = executor();
    const result = await exec.run({ file: "hb-no-such-program", args: [], deadlineMs: 5_000, keepAlive: "/pool", input: "x" });
    expect(result).toMatchObject({ exitCode: null, timedOut: false, spawnError: "ENOENT" });
    expect(exec.kept).toBe(0);
  });

  it("kills a child whose reply goes past the output cap, and names the program", async () => {
    const exec = executor();
    const flood = worker(`process.stdout.write("x".repeat(100000));`);
    const result = await exec.run({ file: node, args: flood, deadlineMs: 10_000, keepAlive: "/pool", input: "x", maxOutputBytes: 4096 });
    expect(result).toMatchObject({ overflow: "stdout", exitCode: null, signal: "SIGKILL", timedOut: false, stdout: "x".repeat(4096) });
    expect(result.stderr).toBe(`${node}: killed: printed more than 4096 bytes on stdout`);
    expect(exec.kept).toBe(0);
  });

  it("ends a child on release, and on releaseAll; the next request starts a new one", async () => {
    const exec = executor();
    const first = Number((await ask(exec, "/pool/a", "x")).stdout);
    exec.release("/pool/a");
    expect(exec.kept).toBe(0);
    await until(() => !alive(first), "the released child to exit at the end of its input");
    const second = Number((await ask(exec, "/pool/a", "x")).stdout);
    expect(second).not.toBe(first);
    exec.release("/pool/none"); // no-op

    const third = Number((await ask(exec, "/pool/b", "x")).stdout);
    expect(exec.kept).toBe(2);
    exec.releaseAll();
    expect(exec.kept).toBe(0);
    await until(() => !alive(second) && !alive(third), "every kept child to exit");
  });

  it("serves a request for a busy key with a one-shot child, and keeps the kept one", async () => {
    const exec = executor();
    const slow = worker(`setTimeout(() => reply(String(process.pid)), 300);`);
    const kept = Number((await exec.run({ file: node, args: slow, deadlineMs: 10_000, keepAlive: "/pool", input: "x" })).stdout);
    const [busy, meanwhile] = await Promise.all([
      exec.run({ file: node, args: slow, deadlineMs: 10_000, keepAlive: "/pool", input: "x" }),
      exec.run({ file: node, args: slow, deadlineMs: 10_000, keepAlive: "/pool", input: "y" }),
    ]);
    expect(busy).toMatchObject({ exitCode: 0, stdout: String(kept) });
    expect(meanwhile).toMatchObject({ exitCode: 0, timedOut: false });
    expect(Number(meanwhile.stdout)).not.toBe(kept);
    expect(Number(meanwhile.stdout)).toBeGreaterThan(0);
    expect(exec.kept).toBe(1);
    expect(Number((await exec.run({ file: node, args: slow, deadlineMs: 10_000, keepAlive: "/pool", input: "x" })).stdout)).toBe(kept);
  });

  it("ends a busy child released mid-request right after its reply", async () => {
    const exec = executor();
    const slow = worker(`setTimeout(() => reply(String(process.pid)), 200);`);
    const pending = exec.run({ file: node, args: slow, deadlineMs: 10_000, keepAlive: "/pool", input: "x" });
    await new Promise((resolve) => setTimeout(resolve, 50));
    exec.release("/pool");
    const pid = Number((await pending).stdout);
    expect(pid).toBeGreaterThan(0);
    expect(exec.kept).toBe(0);
    await until(() => !alive(pid), "the released child to exit");
  });

  it("holds no reference on the event loop while idle", async () => {
    const exec = executor();
    const loopHolders = () => process.getActiveResourcesInfo().filter((name) => name === "ProcessWrap" || name === "PipeWrap" || name === "TTYWrap").length;
    const before = loopHolders();
    await exec.run({ file: "cat", args: [], deadlineMs: 10_000, keepAlive: "/pool", input: "x" });
    expect(exec.kept).toBe(1);
    expect(loopHolders()).toBe(before);
  });

  it("lets a process with an idle kept child exit by itself (the built adapters, in a real process)", () => {
    const adapters = fileURLToPath(new URL("../../dist/adapters.js", import.meta.url));
    const script = `
      const { ProcessExecutor } = await import(${JSON.stringify(adapters)});
      const executor = new ProcessExecutor();
      const reply = await executor.run({ file: "cat", args: [], deadlineMs: 10000, keepAlive: "/pool", input: "1764000000" });
      console.log(JSON.stringify({ stdout: reply.stdout, kept: executor.kept }));`;
    const result = spawnSync(node, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 8_000 });
    expect(result.error).toBeUndefined(); // no ETIMEDOUT: it exited by itself
    expect(result).toMatchObject({ status: 0, signal: null });
    expect(JSON.parse(result.stdout)).toEqual({ stdout: "1764000000", kept: 1 });
  });

  // A reader blocked in the kernel on a hung FUSE open stays in D state after SIGKILL: a kept
  // worker of a hung pool, killed at its deadline, counts against the pool's cap until it exits.
  it.skipIf(fuseUnavailable !== null)(
    "counts a kept child stuck in the kernel against its group's cap, and refuses past it",
    async () => {
      const faultFs = await mountFaultFs({ files: { "KVMHA/hb-10.0.0.1": "1764000000\n" } });
      try {
        const exec = executor({ maxStuckPerGroup: 1 });
        const group = faultFs.mountPoint;
        const reader = worker(`reply(require("node:fs").readFileSync(line, "utf8").split("\\n")[0]);`);
        const read = (more: Partial<ExecRequest> = {}) =>
          exec.run({ file: node, args: reader, deadlineMs: 10_000, keepAlive: group, group, input: join(faultFs.mountPoint, "KVMHA", "hb-10.0.0.1"), ...more });
        expect(await read()).toMatchObject({ exitCode: 0, stdout: "1764000000" });

        await faultFs.setFault({ hang: true, ops: ["open"] });
        const controller = new AbortController();
        const pending = read({ signal: controller.signal, deadlineMs: 60_000 });
        await faultFs.waitForHeld(1);
        controller.abort(); // SIGKILL; the kept child stays blocked in the kernel
        expect(await pending).toMatchObject({ timedOut: true, signal: "SIGKILL" });
        expect(exec.stuckIn(group)).toBe(1);
        expect(exec.kept).toBe(0);
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(exec.stuckIn(group)).toBe(1); // still there: SIGKILL does not end a wait in the kernel

        const refused = await read();
        expect(refused).toMatchObject({ refused: "stuck-cap", timedOut: true, exitCode: null, stderr: expect.stringMatching(/1 earlier children .* stuck/) });
        expect(faultFs.held()).toBe(1); // nothing new was started
        expect(exec.kept).toBe(0);

        // The mount answers: the killed child exits, and the pool gets a fresh worker.
        await faultFs.setFault({});
        await until(() => exec.stuck === 0, "the stuck child to exit");
        expect(await read()).toMatchObject({ exitCode: 0, stdout: "1764000000" });
        expect(exec.kept).toBe(1);
      } finally {
        await faultFs.unmount();
      }
    },
    20_000,
  );
});

describe("FileExecutor with keepAlive", () => {
  it("runs keepAlive requests and their release through its ProcessExecutor fallback", async () => {
    const fallback = executor();
    const exec = new FileExecutor({ fallback: () => fallback });
    const first = await ask(exec, "/pool", "x", { outputBounded: true });
    expect(first).toMatchObject({ exitCode: 0 });
    expect(fallback.kept).toBe(1);
    expect((await ask(exec, "/pool", "x", { outputBounded: true })).stdout).toBe(first.stdout);
    exec.release("/pool");
    expect(fallback.kept).toBe(0);
    await until(() => !alive(Number(first.stdout)), "the released child to exit");
  });
});
