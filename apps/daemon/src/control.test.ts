import { mkdir } from "node:fs/promises";
import { connect, type Server } from "node:net";
import { join } from "node:path";
import { SystemClock } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { ControlRequestTaken } from "@hb/protocol";
import { parseControlRequest, startControlSocket } from "./control.js";
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

// The control socket as a client meets it: a real Unix socket, requests split over writes.
describe("the control socket's framing: one JSON request per line, one per connection", () => {
  let temp: TempDir;
  let server: Server | undefined;
  const handled: ControlRequestTaken[] = [];
  const socketPath = () => join(temp.path, "control", "hbd.sock");

  beforeEach(async () => {
    temp = await makeTempDir("hbd-control-");
    await mkdir(join(temp.path, "control"), { mode: 0o700 });
    handled.length = 0;
    server = await startControlSocket(socketPath(), async (request) => (handled.push(request), { handled: handled.length }), process.getuid?.() ?? 0, new SystemClock());
  });
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await temp.remove();
  });

  /** Writes each part in its own write; a part waits for the answer when `afterAnswer`. */
  function exchange(parts: readonly string[], afterAnswer = false): Promise<string> {
    return new Promise((resolve, reject) => {
      const client = connect(socketPath());
      let answer = "";
      let rest = [...parts];
      client.setEncoding("utf8");
      client.setTimeout(10_000, () => client.destroy(new Error("no answer")));
      client.on("error", reject);
      client.on("data", (chunk: string) => {
        answer += chunk;
        // The first request was answered: now the rest, each in its own write.
        if (afterAnswer && answer.endsWith("\n")) {
          for (const part of rest) client.write(part);
          rest = [];
          client.end();
        }
      });
      client.on("close", () => resolve(answer));
      const first = rest.shift() as string;
      client.write(first, () => {
        if (afterAnswer) return;
        for (const part of rest) client.write(part);
        client.end();
      });
    });
  }

  it("handles a request once though more bytes follow it in later writes (a veto counted once)", async () => {
    const veto = `${JSON.stringify(report)}\n`;
    expect(JSON.parse(await exchange([veto, veto, "garbage\n"], true))).toEqual({ ok: true, result: { handled: 1 } });
    // Whatever came after the first line was never taken as a request.
    await new Promise((resolve) => setImmediate(resolve));
    expect(handled).toHaveLength(1);
  });

  it("takes a request split over several writes", async () => {
    expect(JSON.parse(await exchange(['{"op":', '"sta', 'tus"}', "\n"]))).toEqual({ ok: true, result: { handled: 1 } });
    expect(handled).toEqual([{ op: "status" }]);
  });

  it("refuses a line followed by anything in the same write, and handles neither", async () => {
    const answer = JSON.parse(await exchange([`${JSON.stringify(report)}\n${JSON.stringify(report)}\n`]));
    expect(answer).toEqual({ ok: false, error: expect.stringMatching(/^one request per connection: \d+ byte\(s\) after the first line refused$/) });
    expect(handled).toEqual([]);
  });

  it("answers null, numbers, arrays and strings with a named error", async () => {
    for (const line of ["null", "42", "[]", '"status"', "true"]) {
      const answer = JSON.parse(await exchange([`${line}\n`]));
      expect(answer).toEqual({ ok: false, error: expect.stringMatching(/^a request is one JSON object with an op, not /) });
      expect(answer.error).not.toMatch(/Cannot read properties/);
    }
    expect(JSON.parse(await exchange(["{oops\n"]))).toEqual({ ok: false, error: "a request is one JSON object with an op, not a line that is not JSON" });
    expect(handled).toEqual([]);
  });

  it("refuses a line longer than a request can be", async () => {
    expect(JSON.parse(await exchange(["x".repeat(5000)]))).toEqual({ ok: false, error: "a request is at most 4096 bytes" });
    expect(handled).toEqual([]);
  });
});
