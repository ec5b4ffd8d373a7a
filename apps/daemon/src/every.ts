import type { Clock, TimerHandle } from "@hb/core";

/**
 * `tick` every `intervalMs` on the Clock until cancelled, the next one set as each starts: a
 * late tick shows as a longer gap before it, as with a Node interval.
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
