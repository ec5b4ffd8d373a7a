import type { Clock } from "@hb/core";

export type Settled<T> = { readonly done: true; readonly value: T } | { readonly done: false };

/**
 * Waits for `work` at most `deadlineMs`. At the deadline the caller moves on; the work is left
 * running (an fs call blocked in the kernel cannot be cancelled), its late result ignored.
 */
export function withinDeadline<T>(clock: Clock, deadlineMs: number, work: Promise<T>): Promise<Settled<T>> {
  return new Promise((resolve, reject) => {
    const timer = clock.setTimer(deadlineMs, () => resolve({ done: false }));
    work.then(
      (value) => {
        timer.cancel();
        resolve({ done: true, value });
      },
      (error: unknown) => {
        timer.cancel();
        reject(error);
      },
    );
  });
}

export function errorText(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return code !== undefined && !message.includes(code) ? `${code}: ${message}` : message;
}
