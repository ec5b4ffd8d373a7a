import { describe, expect, it } from "vitest";
import { controlAnswerSchema, maintenanceAnswerSchema, parseControlAnswer, parseControlRequest, readMaintenanceAnswer } from "./control.js";
import * as z from "zod/mini";

const report = { op: "fence-veto", outcome: "vetoed", check: "drbd-quorum", source: "kvmspheartbeat.sh", target: "LINSTOR/StorPool storage", detail: "DRBD quorum holds" };
const refusal = (value: unknown) => {
  const parsed = parseControlRequest(typeof value === "string" ? value : JSON.stringify(value));
  return parsed.ok ? "taken" : parsed.error;
};

describe("control requests", () => {
  it("takes each op, with free text made one short printable line", () => {
    expect(parseControlRequest(JSON.stringify(report))).toEqual({ ok: true, request: report });
    const long = parseControlRequest(JSON.stringify({ ...report, detail: `line one\nline two ${"x".repeat(400)}` }));
    expect(long.ok && long.request.op === "fence-veto" && long.request.detail).toMatch(/^line one line two x+…$/);
    expect(long.ok && long.request.op === "fence-veto" && long.request.detail.length).toBe(300);
    expect(parseControlRequest('{"op":"maintenance-on","ttlMs":60000}')).toEqual({ ok: true, request: { op: "maintenance-on", ttlMs: 60000, reason: "operator" } });
    expect(parseControlRequest(JSON.stringify({ op: "maintenance-on", ttlMs: 1, reason: "r".repeat(300) }))).toMatchObject({ ok: true, request: { reason: "r".repeat(200) } });
    for (const op of ["maintenance-off", "reload", "status"]) expect(parseControlRequest(JSON.stringify({ op, extra: 1 }))).toEqual({ ok: true, request: { op } });
  });

  it("refuses anything else with hbd's words, never guessing", () => {
    expect(refusal("not json")).toBe("a request is one JSON object with an op, not a line that is not JSON");
    expect(refusal(null)).toBe("a request is one JSON object with an op, not null");
    expect(refusal([])).toBe("a request is one JSON object with an op, not an array");
    expect(refusal(3)).toBe("a request is one JSON object with an op, not a number");
    expect(refusal({ op: "shutdown" })).toBe('unknown op "shutdown"');
    expect(refusal({})).toBe("unknown op (none)");
    for (const ttlMs of [0, -1, 1.5, "60000", 24 * 3_600_000 + 1, undefined]) {
      expect(refusal({ op: "maintenance-on", ttlMs })).toBe("ttlMs must be a whole number of ms, 1 to 86400000");
    }
    expect(refusal({ ...report, outcome: "ignored" })).toBe("outcome must be vetoed or deferred");
    expect(refusal({ ...report, check: "anything" })).toBe("check must be one of drbd-quorum, storage, hbd");
    expect(refusal({ ...report, source: " " })).toBe("source must be a non-empty string");
    expect(refusal({ ...report, target: 5 })).toBe("target must be a non-empty string");
  });
});

describe("control answers", () => {
  it("are a result or a refusal; anything else is not an answer", () => {
    expect(z.safeParse(controlAnswerSchema, { ok: true, result: { a: 1 } }).data).toEqual({ ok: true, result: { a: 1 } });
    expect(z.safeParse(controlAnswerSchema, { ok: false, error: 7 }).data).toEqual({ ok: false, error: null });
    for (const value of [null, {}, { ok: "yes" }, []]) expect(z.safeParse(controlAnswerSchema, value).success).toBe(false);
    expect(z.parse(maintenanceAnswerSchema, { maintenanceUntil: { until: "2026-11-30T09:00:00.000Z" } })).toEqual({ maintenanceUntil: { until: "2026-11-30T09:00:00.000Z" } });
    expect(z.safeParse(maintenanceAnswerSchema, "odd").success).toBe(false);
  });
});

describe("reading answers", () => {
  it("gives the result or the refusal, and null for what is not an answer", () => {
    expect(parseControlAnswer({ ok: false, error: "unknown op" })).toEqual({ ok: false, error: "unknown op" });
    expect(parseControlAnswer("ok")).toBeNull();
    expect(readMaintenanceAnswer({ maintenanceUntil: { until: "2026-11-30T09:00:00.000Z" } })).toEqual({ until: "2026-11-30T09:00:00.000Z" });
    for (const value of [null, {}, { maintenanceUntil: "soon" }, { maintenanceUntil: { until: 5 } }]) expect(readMaintenanceAnswer(value)?.until ?? null).toBeNull();
  });
});
