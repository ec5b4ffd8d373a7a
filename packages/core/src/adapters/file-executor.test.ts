import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { faultFsUnavailableReason, mountFaultFs } from "@hb/testkit";
import { afterEach, describe, expect, it } from "vitest";
import type { ExecRequest, ExecResult, Executor } from "../ports.js";
import { FileExecutor } from "./file-executor.js";

/** A fallback that must not be reached. */
const noFallback = () => {
  throw new Error("the fallback executor was used");
};

/** A fallback that records what it was given. */
class Recorder implements Executor {
  readonly requests: ExecRequest[] = [];
  run(request: ExecRequest): Promise<ExecResult> {
    this.requests.push(request);
    return Promise.resolve({ exitCode: 0, signal: null, stdout: "from the fallback", stderr: "", timedOut: false, durationMs: 0 });
  }
}

const fuseUnavailable = faultFsUnavailableReason();
if (fuseUnavailable !== null) console.warn(`SKIPPED: FileExecutor on a hung FUSE mount: ${fuseUnavailable}`);

const folders: string[] = [];
function folder(): string {
  const path = mkdtempSync(join(tmpdir(), "hb-file-executor-"));
  folders.push(path);
  return path;
}
afterEach(() => {
  for (const path of folders.splice(0)) rmSync(path, { recursive: true, force: true });
});

describe("FileExecutor", () => {
  it("reads a file with a real dd, its output and exit code, under the request's variables", async () => {
    const file = join(folder(), "hb-10.0.0.5");
    writeFileSync(file, "1796040988\n");
    const executor = new FileExecutor({ fallback: noFallback });
    const result = await executor.run({ outputBounded: true, file: "dd", args: [`if=${file}`, "bs=4096", "count=1", "status=none"], env: { LC_ALL: "C" }, deadlineMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 0, signal: null, stdout: "1796040988\n", stderr: "", timedOut: false });
    const missing = await executor.run({ outputBounded: true, file: "dd", args: [`if=${file}.gone`, "status=none"], env: { LC_ALL: "C" }, deadlineMs: 10_000 });
    expect(missing).toMatchObject({ exitCode: 1, timedOut: false });
    expect(missing.stderr).toContain("No such file or directory");
  });

  it("passes arguments verbatim, never through a shell, and reports a death by signal", async () => {
    const executor = new FileExecutor({ fallback: noFallback });
    const echoed = await executor.run({ outputBounded: true, file: "printf", args: ["%s\\n", "a b; $(id)"], deadlineMs: 10_000 });
    expect(echoed.stdout).toBe("a b; $(id)\n");
    const killed = await executor.run({ outputBounded: true, file: "sh", args: ["-c", "kill -9 $$"], deadlineMs: 10_000 });
    expect(killed).toMatchObject({ exitCode: null, signal: "SIGKILL", timedOut: false });
  });

  it("answers at the deadline with a child that ignores SIGTERM", async () => {
    const executor = new FileExecutor({ fallback: noFallback });
    const result = await executor.run({ outputBounded: true, file: "sh", args: ["-c", "trap '' TERM; exec sleep 30"], deadlineMs: 200, group: "/pool" });
    expect(result).toMatchObject({ exitCode: null, signal: "SIGKILL", timedOut: true });
  });

  it("gives up when the caller aborts", async () => {
    const executor = new FileExecutor({ fallback: noFallback });
    const controller = new AbortController();
    const pending = executor.run({ outputBounded: true, file: "sleep", args: ["30"], deadlineMs: 60_000, signal: controller.signal });
    controller.abort();
    expect(await pending).toMatchObject({ timedOut: true, signal: "SIGKILL" });
  });

  it("says why a program could not be started: spawnError ENOENT, no exit code, not a timeout", async () => {
    const executor = new FileExecutor({ fallback: noFallback });
    const result = await executor.run({ outputBounded: true, file: "hb-no-such-program", args: [], deadlineMs: 10_000 });
    expect(result).toMatchObject({ exitCode: null, timedOut: false, spawnError: "ENOENT", stderr: "hb-no-such-program: ENOENT" });
  });

  it("keeps output up to the cap and says overflow past it", async () => {
    const executor = new FileExecutor({ fallback: noFallback });
    const result = await executor.run({ outputBounded: true, file: "head", args: ["-c", "3000", "/dev/zero"], deadlineMs: 10_000, maxOutputBytes: 1000 });
    expect(result).toMatchObject({ overflow: "stdout", timedOut: false });
    expect(result.stdout.length).toBe(1000);
    expect(result.stderr).toBe("head: printed more than 1000 bytes on stdout");
  });

  it("hands a request with input to the fallback", async () => {
    const fallback = new Recorder();
    const executor = new FileExecutor({ fallback: () => fallback });
    const request = { file: "cat", args: [], input: "x", deadlineMs: 10_000, outputBounded: true };
    expect((await executor.run(request)).stdout).toBe("from the fallback");
    expect(fallback.requests).toEqual([request]);
  });

  it("hands a request whose output is not bounded to the fallback, which caps a flood while it is written", async () => {
    const fallback = new Recorder();
    const executor = new FileExecutor({ fallback: () => fallback });
    const request = { file: "yes", args: [], deadlineMs: 10_000 };
    expect((await executor.run(request)).stdout).toBe("from the fallback");
    expect(fallback.requests).toEqual([request]);
  });

  it("falls back, for good, when it cannot make its private output files", async () => {
    const fallback = new Recorder();
    const executor = new FileExecutor({ fallback: () => fallback });
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = join(folder(), "not-there");
    try {
      expect((await executor.run({ outputBounded: true, file: "true", args: [], deadlineMs: 10_000 })).stdout).toBe("from the fallback");
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    }
    expect((await executor.run({ outputBounded: true, file: "true", args: [], deadlineMs: 10_000 })).stdout).toBe("from the fallback");
    expect(fallback.requests).toHaveLength(2);
  });

  it.skipIf(fuseUnavailable !== null)("answers at the deadline while dd stays blocked in the kernel, and refuses a group that holds the cap of stuck children", async () => {
    const faultFs = await mountFaultFs({ files: { "KVMHA/hb-10.0.0.1": "1764000000\n", "KVMHA/hb-10.0.0.2": "1764000000\n" } });
    try {
      await faultFs.setFault({ hang: true, ops: ["open"] });
      const executor = new FileExecutor({ fallback: noFallback, maxStuckPerGroup: 1 });
      const group = faultFs.mountPoint;
      const read = (n: number) => executor.run({ outputBounded: true, file: "dd", args: [`if=${join(group, "KVMHA", `hb-10.0.0.${n}`)}`, "status=none"], deadlineMs: 300, group });
      expect(await read(1)).toMatchObject({ timedOut: true, signal: "SIGKILL" });
      await faultFs.waitForHeld(1);
      expect(await read(2)).toMatchObject({ refused: "stuck-cap", timedOut: true, stderr: expect.stringMatching(/1 earlier children .* stuck/) });
      expect(faultFs.held()).toBe(1); // nothing new was started
    } finally {
      await faultFs.setFault({});
      await faultFs.unmount();
    }
  }, 30_000);
});
