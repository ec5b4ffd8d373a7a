import { describe, expect, it } from "vitest";
import { parseControlRequest } from "./control.js";
import { DaemonMetrics } from "./metrics.js";

const report = { op: "fence-veto", outcome: "vetoed", check: "drbd-quorum", source: "kvmspheartbeat.sh", target: "LINSTOR/StorPool storage", detail: "DRBD quorum holds" };

describe("the fence-veto control request", () => {
  it("takes a -c entry point's report, as one short printable line per field", () => {
    expect(parseControlRequest(JSON.stringify(report))).toEqual(report);
    const long = parseControlRequest(JSON.stringify({ ...report, detail: `line one\nline two ${"x".repeat(400)}` }));
    expect(long.op === "fence-veto" && long.detail).toMatch(/^line one line two x+…$/);
    expect(long.op === "fence-veto" && long.detail.length).toBe(300);
  });

  it("refuses an unknown outcome or check (the metric's label set stays closed) and empty fields", () => {
    expect(() => parseControlRequest(JSON.stringify({ ...report, outcome: "ignored" }))).toThrow("outcome must be vetoed or deferred");
    expect(() => parseControlRequest(JSON.stringify({ ...report, check: "anything" }))).toThrow("check must be one of drbd-quorum, storage, hbd");
    expect(() => parseControlRequest(JSON.stringify({ ...report, source: " " }))).toThrow("source must be a non-empty string");
  });
});

describe("veto counts", () => {
  it("count per check for the status endpoint, and increment hb_fence_vetoes_total", async () => {
    const metrics = new DaemonMetrics();
    expect(metrics.vetoSummary()).toEqual({ total: 0, vetoed: 0, deferred: 0, byCheck: { "drbd-quorum": 0, storage: 0, hbd: 0 }, last: null });
    metrics.recordVeto({ ...report, op: "fence-veto", outcome: "vetoed", check: "drbd-quorum" }, Date.UTC(2026, 10, 26, 10));
    const summary = metrics.recordVeto({ ...report, op: "fence-veto", outcome: "deferred", check: "hbd", source: "kvmheartbeat.sh" }, Date.UTC(2026, 10, 26, 11));
    expect(summary).toMatchObject({ total: 2, vetoed: 1, deferred: 1, byCheck: { "drbd-quorum": 1, storage: 0, hbd: 1 }, last: { at: "2026-11-26T11:00:00.000Z", source: "kvmheartbeat.sh", outcome: "deferred" } });
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^hb_fence_vetoes_total\{reason="drbd-quorum"\} 1$/m);
    expect(text).toMatch(/^hb_fence_vetoes_total\{reason="hbd"\} 1$/m);
  });
});
