// The heartbeat loop with targets that run real child processes on the system clock
// (src/loop.test.ts runs it on the simulated clock).
import { describe, expect, it } from "vitest";
import { HeartbeatLoop, ProcessExecutor, SystemClock, type HeartbeatTarget, type LoopEvent } from "../src/index.js";
import { configOf, recordingFence } from "./loop-helpers.js";

describe("HeartbeatLoop", () => {
  it("with real child processes: a child that never exits fails its round on the deadline; the other target is unaffected", async () => {
    const config = configOf("heartbeat.update.timeout=1500\nkvm.heartbeat.update.frequency=100\nkvm.heartbeat.update.max.tries=2\nkvm.heartbeat.update.retry.sleep=100\n");
    const executor = new ProcessExecutor();
    const processTarget = (id: string, args: (seq: number) => string[]): HeartbeatTarget => ({
      id,
      attempt: async ({ seq, deadlineMs, signal }) => {
        const result = await executor.run({ file: process.execPath, args: args(seq), deadlineMs: deadlineMs * 2, signal });
        return result.exitCode === 0 ? { ok: true } : { ok: false, reason: "error", message: `exit ${result.exitCode}` };
      },
    });
    // Ignores SIGTERM and never exits by itself, like a writer blocked on dead storage.
    // Its first attempt succeeds (arming it); every later one never exits by itself and
    // ignores SIGTERM, like a writer blocked on dead storage.
    const hung = processTarget("hung", (seq) => (seq === 1 ? ["-e", "0"] : ["-e", "process.on('SIGTERM',()=>{}); setInterval(()=>{}, 1e6)"]));
    const healthy = processTarget("healthy", () => ["-e", "0"]);
    const events: LoopEvent[] = [];
    const { fence, decisions } = recordingFence(config);
    const loop = new HeartbeatLoop({ config, clock: new SystemClock(), targets: [hung, healthy], fence, onEvent: (e) => events.push(e) });
    loop.start();
    while (decisions.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    await loop.stop();
    const hungAttempts = events.flatMap((e) => (e.type === "attempt" && e.target === "hung" ? [e.record] : []));
    const healthyAttempts = events.flatMap((e) => (e.type === "attempt" && e.target === "healthy" ? [e.record] : []));
    expect(hungAttempts.map((a) => a.result)).toEqual(["ok", "timeout", "timeout"]);
    expect(hungAttempts.slice(1).every((a) => a.latencyMs >= 1500)).toBe(true);
    expect(decisions[0]).toMatchObject({ target: "hung", isFence: true });
    // While the hung target's first attempt waited for its deadline, the other kept its schedule.
    const firstHung = hungAttempts[1];
    const during = healthyAttempts.filter((a) => a.startedAtMs > (firstHung?.startedAtMs ?? 0) && a.startedAtMs < (firstHung?.startedAtMs ?? 0) + 1500);
    expect(during.length).toBeGreaterThanOrEqual(1);
    expect(healthyAttempts.every((a) => a.result === "ok")).toBe(true);
  }, 20_000);
});
