import { ProcessExecutor, SystemClock } from "@hb/core";
import pino from "pino";
import type { DaemonDeps } from "../src/daemon.js";

/**
 * hbd's dependencies for in-process tests: real clock and executor, silent logs, targets that
 * answer at once and a fence that only reports. Tests replace what they exercise.
 */
export function fakeDaemonDeps(overrides: Partial<DaemonDeps> = {}): DaemonDeps {
  return {
    executor: new ProcessExecutor(),
    clock: new SystemClock(),
    log: pino({ level: "silent" }),
    env: {},
    pid: process.pid,
    isHbd: () => true,
    addressOf: () => undefined,
    makeTarget: (pool) => ({ id: pool.id, attempt: async () => ({ ok: true }) }),
    makeFence: (config) => ({ name: config["kvm.heartbeat.fence.action"], execute: async (d) => ({ action: d.action, outcome: "recorded", acted: false }) }),
    stderr: () => undefined,
    sysClassWatchdog: "/nonexistent",
    version: "0.0.0-test",
    ...overrides,
  };
}
