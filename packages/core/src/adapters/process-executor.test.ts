import { describe, expect, it } from "vitest";
import { ProcessExecutor } from "../index.js";

const node = process.execPath;

describe("ProcessExecutor", () => {
  it("passes arguments verbatim, never through a shell, and returns output and exit code", async () => {
    const executor = new ProcessExecutor();
    const result = await executor.run({ file: node, args: ["-e", "console.log(process.argv[1]); process.exit(3)", "a b; rm -rf /tmp/x $(id)"], deadlineMs: 10_000 });
    expect(result).toMatchObject({ exitCode: 3, stdout: "a b; rm -rf /tmp/x $(id)\n", timedOut: false });
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

  it("says why a program could not be started, with no exit code", async () => {
    const result = await new ProcessExecutor().run({ file: "hb-no-such-program", args: [], deadlineMs: 5_000 });
    expect(result).toMatchObject({ exitCode: null, timedOut: false, stderr: expect.stringMatching(/ENOENT/) });
  });

  it("feeds input on stdin", async () => {
    const executor = new ProcessExecutor();
    const result = await executor.run({ file: node, args: ["-e", "process.stdin.pipe(process.stdout)"], deadlineMs: 10_000, input: "1764000000\n" });
    expect(result.stdout).toBe("1764000000\n");
  });
});
