import type { Clock, TimerHandle } from "./ports.js";

interface PendingTimer {
  readonly atMs: number;
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * A clock whose time moves only when told to. Timers fire in time order (ties in the order
 * they were set), and after each one every promise chain it started settles before the next,
 * so a run is deterministic to the millisecond and takes no real waiting.
 */
export class SimulatedClock implements Clock {
  private nowMs = 0;
  private order = 0;
  private timers: PendingTimer[] = [];

  constructor(private readonly wallOriginMs = Date.UTC(2026, 0, 1)) {}

  wallMs(): number {
    return this.wallOriginMs + this.nowMs;
  }

  monoMs(): number {
    return this.nowMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: PendingTimer = { atMs: this.nowMs + Math.max(0, delayMs), order: this.order++, callback, cancelled: false };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = this.setTimer(delayMs, () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      });
      const onAbort = () => {
        timer.cancel();
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Fires every timer due up to endMs, in order, then sets the time to endMs and returns true.
   * `stop`, asked after each timer, ends the run early where it is: then it returns false.
   */
  async runUntil(endMs: number, stop?: () => boolean): Promise<boolean> {
    await settle();
    for (;;) {
      this.timers = this.timers.filter((timer) => !timer.cancelled);
      let next: PendingTimer | undefined;
      for (const timer of this.timers) {
        if (next === undefined || timer.atMs < next.atMs || (timer.atMs === next.atMs && timer.order < next.order)) next = timer;
      }
      if (next === undefined || next.atMs > endMs) break;
      next.cancelled = true;
      this.nowMs = next.atMs;
      next.callback();
      await settle();
      if (stop?.() === true) return false;
    }
    this.nowMs = Math.max(this.nowMs, endMs);
    return true;
  }
}

// Every microtask queued so far (and those they queue) runs before a macrotask does.
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
