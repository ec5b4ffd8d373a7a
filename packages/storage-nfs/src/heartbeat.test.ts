import { describe, expect, it } from "vitest";
import { cannotJudgeLine, formatHeartbeat, judgeHeartbeat, neighbourLine, parseHeartbeat, parseRecord, recordProgress } from "./index.js";

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

  it("cannot judge a missing, empty, non-numeric or unreadable file: no evidence, never DEAD (upstream's first line is an error, read as ALIVE)", () => {
    const at = { nowEpochSeconds: NOW, maxAgeSeconds: 60 };
    const missing = judgeHeartbeat({ kind: "missing" }, at);
    const empty = judge("");
    const garbage = judge("hello\n");
    const unreadable = judgeHeartbeat({ kind: "unreadable", message: "Input/output error" }, at);
    expect([missing, empty, garbage, unreadable].map((v) => [v.verdict, v.reason])).toEqual([
      ["undecided", "missing"],
      ["undecided", "empty"],
      ["undecided", "not-a-timestamp"],
      ["undecided", "unreadable"],
    ]);
    expect([missing, empty, garbage, unreadable].map((v) => neighbourLine(v, FILE, 60))).toEqual([
      "=====> CANNOT JUDGE: the heartbeat file does not exist <=====",
      "=====> CANNOT JUDGE: the heartbeat file is empty <=====",
      '=====> CANNOT JUDGE: the heartbeat file does not hold epoch seconds ("hello") <=====',
      "=====> CANNOT JUDGE: the heartbeat file cannot be read (Input/output error) <=====",
    ]);
  });

  it("never puts DEAD in a cannot-judge line, whatever the file holds", () => {
    for (const text of ["DEAD\n", "host is dead\n", "=====> Considering host as DEAD <======\n"]) {
      const verdict = judge(text);
      expect(verdict.verdict).toBe("undecided");
      expect(neighbourLine(verdict, FILE, 60)).toBe("=====> CANNOT JUDGE <=====");
    }
    expect(cannotJudgeLine("/mnt/DEADBEEF is not an NFS mount")).toBe("=====> CANNOT JUDGE <=====");
    expect(cannotJudgeLine("two\nlines")).toBe("=====> CANNOT JUDGE <=====");
  });

  it("cannot judge a read that ran into its deadline", () => {
    const verdict = judgeHeartbeat({ kind: "timeout", afterMs: 500 }, { nowEpochSeconds: NOW, maxAgeSeconds: 60 });
    expect(verdict).toMatchObject({ verdict: "undecided", reason: "timeout" });
    expect(neighbourLine(verdict, FILE, 60)).toBe("=====> CANNOT JUDGE: the heartbeat file could not be read within 500 ms <=====");
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
