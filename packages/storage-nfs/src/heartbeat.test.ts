import { describe, expect, it } from "vitest";
import { formatHeartbeat, judgeHeartbeat, neighbourLine, parseHeartbeat, parseRecord, recordProgress } from "./index.js";

const NOW = 1_764_000_000;
const judge = (text: string, maxAgeSeconds = 60) => judgeHeartbeat({ kind: "content", text }, { nowEpochSeconds: NOW, maxAgeSeconds });
const FILE = "/mnt/p/KVMHA//hb-10.0.0.5";

describe("heartbeat content", () => {
  it("is decimal epoch seconds and a newline", () => {
    expect(formatHeartbeat(NOW)).toBe("1764000000\n");
    expect(() => formatHeartbeat(1.5)).toThrow(RangeError);
  });

  it.each([
    ["1764000000\n", { kind: "timestamp", epochSeconds: NOW }],
    ["  1764000000  \n\n", { kind: "timestamp", epochSeconds: NOW }],
    ["0001764000000\n", { kind: "not-a-timestamp", text: "0001764000000" }],
    ["0764000000", { kind: "timestamp", epochSeconds: 764_000_000 }],
    ["", { kind: "empty" }],
    [" \n", { kind: "empty" }],
    ["17640000a0\n", { kind: "not-a-timestamp", text: "17640000a0" }],
    ["-5\n", { kind: "not-a-timestamp", text: "-5" }],
    ["1764000000 1764000001\n", { kind: "not-a-timestamp", text: "1764000000 1764000001" }],
  ])("parses %j", (text, expected) => {
    expect(parseHeartbeat(text)).toEqual(expected);
  });
});

describe("a neighbour's judgement", () => {
  it("is ALIVE up to and including the maximum age (upstream's strict -gt), DEAD beyond", () => {
    expect(judge(`${NOW - 60}\n`)).toMatchObject({ verdict: "alive", reason: "fresh", ageSeconds: 60 });
    expect(judge(`${NOW - 61}\n`)).toMatchObject({ verdict: "dead", reason: "stale", ageSeconds: 61 });
  });

  it("uses the whole age: 256 s is DEAD (upstream took the age mod 256 and said ALIVE)", () => {
    expect(judge(`${NOW - 256}\n`)).toMatchObject({ verdict: "dead", ageSeconds: 256 });
    expect(judge(`${NOW - 512}\n`)).toMatchObject({ verdict: "dead", ageSeconds: 512 });
    expect(neighbourLine(judge(`${NOW - 300}\n`), FILE, 60)).toBe(
      "=====> Considering host as DEAD because last write on [/mnt/p/KVMHA//hb-10.0.0.5] was [300] seconds ago, but the max interval is [60] <======",
    );
  });

  it("calls a missing, empty, non-numeric or unreadable file DEAD, each with its own reason (upstream: ALIVE)", () => {
    const at = { nowEpochSeconds: NOW, maxAgeSeconds: 60 };
    const missing = judgeHeartbeat({ kind: "missing" }, at);
    const empty = judge("");
    const garbage = judge("hello\n");
    const unreadable = judgeHeartbeat({ kind: "unreadable", message: "Input/output error" }, at);
    expect([missing, empty, garbage, unreadable].map((v) => [v.verdict, v.reason])).toEqual([
      ["dead", "missing"],
      ["dead", "empty"],
      ["dead", "not-a-timestamp"],
      ["dead", "unreadable"],
    ]);
    const lines = [missing, empty, garbage, unreadable].map((v) => neighbourLine(v, FILE, 60));
    for (const line of lines) expect(line).toMatch(/^=====> Considering host as DEAD because .* <======$/);
    expect(lines).toEqual([
      "=====> Considering host as DEAD because heartbeat file [/mnt/p/KVMHA//hb-10.0.0.5] does not exist <======",
      "=====> Considering host as DEAD because heartbeat file [/mnt/p/KVMHA//hb-10.0.0.5] is empty <======",
      "=====> Considering host as DEAD because heartbeat file [/mnt/p/KVMHA//hb-10.0.0.5] does not hold a timestamp <======",
      "=====> Considering host as DEAD because heartbeat file [/mnt/p/KVMHA//hb-10.0.0.5] cannot be read (Input/output error) <======",
    ]);
  });

  it("is undecided, never DEAD, when the read ran into its deadline", () => {
    const verdict = judgeHeartbeat({ kind: "timeout", afterMs: 500 }, { nowEpochSeconds: NOW, maxAgeSeconds: 60 });
    expect(verdict).toMatchObject({ verdict: "undecided", reason: "timeout" });
    expect(neighbourLine(verdict, FILE, 60)).toBe("=====> ALIVE <=====");
  });

  it("says ALIVE for a timestamp from the future and tells that the writer's clock is ahead", () => {
    const verdict = judge(`${NOW + 30}\n`);
    expect(verdict).toMatchObject({ verdict: "alive", ageSeconds: -30 });
    expect(verdict.message).toMatch(/clock is ahead/);
  });
});

describe("the richer record", () => {
  it("is accepted only with a whole sequence number", () => {
    expect(parseRecord('{"seq":4,"bootId":"b"}')).toEqual({ seq: 4, bootId: "b" });
    expect(parseRecord('{"seq":"4"}')).toBeNull();
    expect(parseRecord("[1]")).toBeNull();
    expect(parseRecord("not json")).toBeNull();
    expect(parseRecord(null)).toBeNull();
  });

  it("judges progress by change observed, not by clocks", () => {
    const a = { seq: 4, bootId: "b1" };
    expect(recordProgress(a, { seq: 5, bootId: "b1" })).toBe("advanced");
    expect(recordProgress(a, { seq: 4, bootId: "b1" })).toBe("stalled");
    expect(recordProgress(a, { seq: 1, bootId: "b2" })).toBe("restarted");
    expect(recordProgress(null, a)).toBe("unknown");
  });
});
