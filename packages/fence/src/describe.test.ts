import { describe, expect, it } from "vitest";
import { describeFenceAction } from "./index.js";

describe("fence action descriptions", () => {
  it("says plainly which actions do not fence", () => {
    expect(describeFenceAction("hard-reboot").fences).toBe(true);
    expect(describeFenceAction("graceful-reboot").fences).toBe(true);
    for (const action of ["restart-agent", "log-only"] as const) {
      const description = describeFenceAction(action);
      expect(description.fences).toBe(false);
      expect(description.summary).toMatch(/NOT a fence.*two writers on one disk/);
    }
  });
});
