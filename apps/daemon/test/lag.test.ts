// hbd's event-loop lag, measured by Node on a real event loop: what the health check and the
// watchdog keepalives go by.
import { describe, expect, it } from "vitest";
import { lagThresholdMs } from "../src/supervisor.js";
import { eventLoopLag, lagResolutionMs } from "../src/wiring.js";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the event-loop lag hbd reports", () => {
  it("is near zero on an idle loop (the sampling interval is not lag), and shows one stall of the window", async () => {
    const lag = eventLoopLag();
    lag.start();
    try {
      await sleep(600);
      expect(lag.takeP99Ms()).toBeLessThan(50);
      await sleep(150);
      // One 400 ms stall of the loop (a synchronous call that does not return).
      const until = performance.now() + 400;
      while (performance.now() < until);
      await sleep(250);
      expect(lag.takeP99Ms()).toBeGreaterThanOrEqual(250);
      await sleep(600);
      expect(lag.takeP99Ms()).toBeLessThan(50);
    } finally {
      lag.stop();
    }
  });
});

describe("how often hbd samples it", () => {
  it("at half the threshold, so that a stall over the threshold always spans a sample: 500 ms for CloudStack's default timeout, never under 20 ms", () => {
    expect(lagResolutionMs(lagThresholdMs(60_000))).toBe(500);
    expect(lagResolutionMs(lagThresholdMs(2_000))).toBe(100);
    expect(lagResolutionMs(lagThresholdMs(100))).toBe(20);
  });
});
