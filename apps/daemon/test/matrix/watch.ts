import { readFileSync, statSync } from "node:fs";
import { performance } from "node:perf_hooks";

/** One write seen in a watched file: its new bytes and when they were first seen. */
export interface Arrival {
  readonly at: number;
  readonly text: string;
}

/**
 * Watches local files the daemon writes synchronously (the sysrq trigger, the watchdog device
 * file). Polled every 10 ms from this process (the files are local, never the faulty storage);
 * each growth is stamped with the file's mtime, the kernel's time of the write, moved onto
 * performance.now(), the loop's own clock, so a late poll does not make a write look late.
 */
export class FileWatch {
  private readonly sizes = new Map<string, number>();
  private readonly arrivals = new Map<string, Arrival[]>();
  private timer: NodeJS.Timeout | undefined;

  add(path: string): void {
    this.sizes.set(path, stat(path).size);
    this.arrivals.set(path, []);
    this.timer ??= setInterval(() => this.poll(), 10);
  }

  remove(path: string): void {
    this.sizes.delete(path);
    if (this.sizes.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Every write seen so far (polls once first). */
  seen(path: string): readonly Arrival[] {
    this.poll();
    return this.arrivals.get(path) ?? [];
  }

  /** When `text` first appeared in the file, if it did. */
  firstTime(path: string, text: string): number | undefined {
    return this.seen(path).find((arrival) => arrival.text.includes(text))?.at;
  }

  poll(): void {
    const now = performance.now();
    const wallMinusMono = Date.now() - now;
    for (const [path, before] of this.sizes) {
      const { size, mtimeMs } = stat(path);
      if (size <= before) continue;
      const text = readFileSync(path, "latin1").slice(before, size);
      this.sizes.set(path, size);
      this.arrivals.get(path)?.push({ at: Math.min(now, mtimeMs - wallMinusMono), text });
    }
  }
}

function stat(path: string): { size: number; mtimeMs: number } {
  try {
    return statSync(path);
  } catch {
    return { size: 0, mtimeMs: 0 };
  }
}
