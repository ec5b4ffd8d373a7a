import type { Clock, TimerHandle } from "../ports.js";

/**
 * Milliseconds since the process started, monotonic: what performance.now() says, without the
 * perf_hooks module the `performance` global loads (a few ms of every start).
 */
export const monotonicMs = (): number => process.uptime() * 1000;

/** The real clock: wall time for records, monotonicMs() for every deadline. */
export class SystemClock implements Clock {
  wallMs(): number {
    return Date.now();
  }

  monoMs(): number {
    return monotonicMs();
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer = setTimeout(callback, delayMs);
    return { cancel: () => clearTimeout(timer) };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, delayMs);
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}
