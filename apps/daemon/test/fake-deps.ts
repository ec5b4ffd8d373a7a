import { ProcessExecutor, SimulatedClock, type Clock } from "@hb/core";
import pino from "pino";
import type { DaemonDeps } from "../src/daemon.js";
import type { EventLoopLag } from "../src/supervisor.js";

/** An event loop whose p99 delay is whatever the test sets (0: never stuck). */
export class FakeLag implements EventLoopLag {
  p99Ms = 0;
  running = false;
  start(): void {
    this.running = true;
  }
  takeP99Ms(): number {
    return this.p99Ms;
  }
  stop(): void {
    this.running = false;
  }
}

/**
 * hbd's dependencies for in-process tests: the simulated clock (tests that wait on real sockets
 * pass the SystemClock), the real executor, silent logs, an event loop that never lags, targets
 * that answer at once and a fence that only reports. Tests replace what they exercise.
 */
export function fakeDaemonDeps(overrides: Partial<DaemonDeps> = {}): DaemonDeps & { readonly clock: Clock } {
  return {
    executor: new ProcessExecutor(),
    clock: new SimulatedClock(),
    log: pino({ level: "silent" }),
    env: {},
    pid: process.pid,
    isHbd: () => true,
    addressOf: () => undefined,
    lag: new FakeLag(),
    makeTarget: (pool) => ({ id: pool.id, attempt: async () => ({ ok: true }) }),
    makeFence: (config) => ({ name: config["kvm.heartbeat.fence.action"], execute: async (d) => ({ action: d.action, outcome: "recorded", acted: false }) }),
    stderr: () => undefined,
    sysClassWatchdog: "/nonexistent",
    version: "0.0.0-test",
    ...overrides,
  };
}
