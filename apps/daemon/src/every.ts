import type { Clock, TimerHandle } from "@hb/core";

/**
 * `tick` every `intervalMs` on the Clock, the next one set as each starts (as setInterval does),
 * until cancelled.
 */
export function every(clock: Clock, intervalMs: number, tick: () => void): TimerHandle {
  let cancelled = false;
  let current: TimerHandle;
  const schedule = () => {
    current = clock.setTimer(intervalMs, () => {
      if (cancelled) return;
      schedule();
      tick();
    });
  };
  schedule();
  return {
    cancel: () => {
      cancelled = true;
      current.cancel();
    },
  };
}
