import type { Clock, Executor, TimerHandle } from "@hb/core";
import type { DaemonSettings } from "@hb/config";
import type { RebootBackstop } from "@hb/fence";
import type { Logger } from "pino";
import { every } from "./every.js";
import type { DaemonMetrics } from "./metrics.js";
import { deviceWatchdog, noWatchdog, systemdWatchdog, type Watchdog } from "./watchdog.js";

/**
 * The event loop's delay, as a port: the real adapter samples Node's own (wiring.ts), a test
 * says how stuck the loop was.
 */
export interface EventLoopLag {
  start(): void;
  /** p99 delay in ms since the previous call; the window starts anew. */
  takeP99Ms(): number;
  stop(): void;
}

export interface SupervisorDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: DaemonMetrics;
  readonly executor: Executor & { readonly stuck?: number };
  readonly lag: EventLoopLag;
}

export interface SupervisorPolicy {
  /** A lag at or above this is a health problem: no keepalive. */
  lagThresholdMs(): number;
  /** The loop's own health, lag aside. */
  loopHealthy(): boolean;
}

// The p99 lag is taken over this window.
const LAG_WINDOW_MS = 5_000;

/** The event-loop lag that is a health problem: a tenth of the attempt timeout, at most 1 s. */
export function lagThresholdMs(attemptTimeoutMs: number): number {
  return Math.min(1_000, attemptTimeoutMs / 10);
}

/** The configured watchdog: the device, systemd's, or none. */
export function makeWatchdog(settings: DaemonSettings, deps: { readonly sysClassWatchdog: string; readonly watchdogUsec: string | undefined; readonly executor: Executor }): Watchdog {
  switch (settings.watchdog) {
    case "device":
      return deviceWatchdog({ device: settings.watchdogDevice, sysClassDir: deps.sysClassWatchdog });
    case "systemd":
      return systemdWatchdog(deps.watchdogUsec, deps.executor);
    default:
      return noWatchdog;
  }
}

/**
 * The watchdog and event-loop-lag policy: keepalives only while the loop is healthy and the
 * event loop is not stuck, so a hung hbd is reset without any of its code running.
 */
export class Supervisor {
  private armed = false;
  /** A fence handed the watchdog over: no more keepalives, and no magic close on stop. */
  private handedOver = false;
  private lagMs = 0;
  private timers: TimerHandle[] = [];

  constructor(
    readonly watchdog: Watchdog,
    private readonly deps: SupervisorDeps,
    private readonly policy: SupervisorPolicy,
  ) {}

  get lagP99Ms(): number {
    return this.lagMs;
  }

  lagging(): boolean {
    return this.lagMs >= this.policy.lagThresholdMs();
  }

  view(): { mode: string; armed: boolean; timeoutSeconds: number | null } {
    return { mode: this.watchdog.mode, armed: this.armed, timeoutSeconds: this.watchdog.timeoutSeconds };
  }

  // Arm only after every target succeeded once: before that a failure should stop start-up
  // from being trusted, not reset the host (SBD's decoupling).
  armWhenReady(everyTargetArmed: () => boolean): void {
    if (this.armed || !everyTargetArmed()) return;
    try {
      this.watchdog.arm();
      this.armed = this.watchdog.mode !== "none";
      if (this.armed) this.deps.log.info(this.watchdog.describe());
    } catch (error) {
      this.deps.log.fatal({ err: (error as Error).message }, "watchdog could not be armed: hbd runs UNPROTECTED");
    }
  }

  start(): void {
    const { clock, log, lag, metrics, executor } = this.deps;
    lag.start();
    this.timers.push(
      every(clock, LAG_WINDOW_MS, () => {
        this.lagMs = lag.takeP99Ms();
        metrics.lag.set(this.lagMs / 1000);
        metrics.stuck.set(executor.stuck ?? 0);
        if (this.lagging()) log.warn({ lagP99Ms: this.lagMs }, "event-loop lag is a health problem: keepalives withheld");
      }),
    );
    const interval = this.watchdog.keepaliveIntervalMs;
    if (interval === null) return;
    let lastTickMs = clock.monoMs();
    this.timers.push(
      every(clock, interval, () => {
        // A tick that comes late proves the event loop was stuck just now: no keepalive for it.
        const now = clock.monoMs();
        const lateMs = now - lastTickMs - interval;
        lastTickMs = now;
        if (!this.armed || this.handedOver) return;
        if (lateMs > this.policy.lagThresholdMs()) return log.error({ lateMs: Math.round(lateMs) }, "event loop was stalled: no watchdog keepalive");
        if (this.lagging() || !this.policy.loopHealthy()) return log.error("loop unhealthy: no watchdog keepalive");
        this.watchdog.keepalive().catch((error: unknown) => log.error({ err: (error as Error).message }, "watchdog keepalive failed"));
      }),
    );
  }

  /** No more ticks: the first step of a stop. */
  stopTimers(): void {
    for (const timer of this.timers.splice(0)) timer.cancel();
    this.deps.lag.stop();
  }

  /** The last step of a stop: disarm cleanly, unless a fence handed the device over. */
  async release(): Promise<void> {
    if (this.handedOver) return this.watchdog.abandon();
    await this.watchdog.disarm().catch((error: unknown) => this.deps.log.error({ err: error }, "watchdog disarm failed"));
  }

  /**
   * graceful-reboot's watchdog backstop when hbd itself holds the device (a second open would
   * fail with EBUSY): stop the keepalives and never disarm, so the device resets the host if the
   * shutdown stalls after hbd is gone.
   */
  heldBackstop(): RebootBackstop | undefined {
    if (this.watchdog.mode !== "device" || !this.armed) return undefined;
    const timeout = this.watchdog.timeoutSeconds;
    return {
      name: "watchdog",
      probe: () => ({ available: true, detail: `hbd's watchdog device, reset ${timeout} s after the last keepalive` }),
      arm: async () => {
        this.handedOver = true;
        return { ok: true, detail: `keepalives to hbd's watchdog device stopped: reset within ${timeout} s unless the reboot completes first` };
      },
    };
  }
}
