import { describe, expect, it } from "vitest";
import { TARGET_STATES, spendsBudget } from "./index.js";

describe("target states", () => {
  it("never lets slow or degraded storage spend the fence budget", () => {
    expect(TARGET_STATES.filter((state) => spendsBudget(state))).toEqual(["failing", "no-quorum", "dead"]);
    expect(spendsBudget("slow")).toBe(false);
    expect(spendsBudget("degraded")).toBe(false);
  });
});
