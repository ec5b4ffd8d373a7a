import { SystemClock } from "@hb/core";
import { afterEach, describe, expect, it } from "vitest";
import { exited, startVm, started } from "./processes.js";
import { stopProcesses } from "../src/index.js";

const cleanups: (() => unknown)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

describe("stopProcesses", () => {
  it("SIGTERMs, then SIGKILLs what is still running after the grace, and reports each pid", async () => {
    const polite = startVm("polite");
    const stubborn = startVm("stubborn");
    cleanups.push(() => polite.kill("SIGKILL"), () => stubborn.kill("SIGKILL"));
    const pids = [await started(polite), await started(stubborn)];
    const results = await stopProcesses([...pids, pids[0] as number], { clock: new SystemClock(), graceMs: 500 });
    expect(results).toEqual([
      { pid: pids[0], outcome: "terminated" },
      { pid: pids[1], outcome: "killed" },
    ]);
    expect(await exited(polite)).toBe("SIGTERM");
    expect(await exited(stubborn)).toBe("SIGKILL");
  });

  it("reports a pid that no longer runs, and one that survives SIGKILL (blocked in the kernel)", async () => {
    const sent: string[] = [];
    const results = await stopProcesses([4_000_001, 4_000_002], {
      clock: new SystemClock(),
      graceMs: 100,
      signal: (pid, signal) => {
        sent.push(`${pid} ${signal}`);
        return pid === 4_000_002;
      },
      isRunning: (pid) => pid === 4_000_002,
    });
    expect(results).toEqual([
      { pid: 4_000_001, outcome: "not-running" },
      { pid: 4_000_002, outcome: "survived" },
    ]);
    expect(sent).toEqual(["4000001 SIGTERM", "4000002 SIGTERM", "4000002 SIGKILL"]);
  });

  it("never signals pid 1, 0 or a negative pid (a process group)", async () => {
    const sent: number[] = [];
    await stopProcesses([0, 1, -5], { clock: new SystemClock(), graceMs: 10, signal: (pid) => (sent.push(pid), false) });
    expect(sent).toEqual([]);
  });
});
