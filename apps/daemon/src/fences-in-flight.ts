import type { FenceAction } from "@hb/core";

/** Fences still running, so that a stop never abandons one. */
export class FencesInFlight {
  private readonly running = new Set<Promise<unknown>>();

  /** The same action, each execution tracked until it settles. */
  track(fence: FenceAction): FenceAction {
    const execute: FenceAction["execute"] = (decision) => {
      const running = fence.execute(decision);
      this.running.add(running);
      void running.finally(() => this.running.delete(running)).catch(() => undefined);
      return running;
    };
    return { name: fence.name, execute };
  }

  async settled(): Promise<void> {
    await Promise.allSettled([...this.running]);
  }
}
