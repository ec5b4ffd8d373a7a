import { appendFile, mkdir } from "node:fs/promises";
import { makeTempDir } from "@hb/testkit";
import { describe, expect, it } from "vitest";
import { describeNoFences, readNoFences } from "./index.js";

describe("vetoes and deferrals in fence.jsonl", () => {
  it("are counted since the newest fence decision and described for hb fence last", async () => {
    const temp = await makeTempDir("hb-veto-log-");
    try {
      const state = temp.file("state");
      expect(await readNoFences(state)).toBeNull();
      await mkdir(state);
      const line = (fields: Record<string, unknown>) => appendFile(`${state}/fence.jsonl`, `${JSON.stringify(fields)}\n`);
      await line({ kind: "veto", id: "v0", check: "drbd-quorum", source: "kvmspheartbeat.sh", wallTime: "2026-11-26T09:00:00.000Z", detail: "before the fence" });
      await line({ kind: "decision", id: "d1" });
      await line({ kind: "fallback", id: "d1" });
      await line({ kind: "veto", id: "v1", check: "drbd-quorum", source: "kvmspheartbeat.sh", wallTime: "2026-11-26T10:00:00.000Z", detail: "quorum holds" });
      await line({ kind: "deferral", id: "v2", check: "hbd", source: "kvmheartbeat.sh", wallTime: "2026-11-26T10:05:00.000Z", detail: "hbd's verdict: pool-a healthy" });
      const summary = await readNoFences(state);
      expect(summary).toMatchObject({ afterDecision: "d1", count: 2, vetoed: 1, deferred: 1, byCheck: { "drbd-quorum": 1, storage: 0, hbd: 1 }, newest: { id: "v2" } });
      expect(describeNoFences(summary)).toBe(
        "Since then, 2 -c calls of the agent did not fence: 1 vetoed (drbd-quorum 1), 1 deferred to hbd.\n" +
          "  newest: 2026-11-26T10:05:00.000Z kvmheartbeat.sh (deferred): hbd's verdict: pool-a healthy\n",
      );
      expect(describeNoFences({ ...summary!, count: 0 })).toBe("");
    } finally {
      await temp.remove();
    }
  });
});
