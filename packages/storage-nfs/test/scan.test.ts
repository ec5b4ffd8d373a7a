import { mkdir, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { scanHeartbeats } from "../src/index.js";
import { WORKERS } from "./workers.js";

const NOW = 1_764_000_000;

describe.each(WORKERS)("scanning a pool's heartbeats with $name", ({ worker }) => {
  let pool: TempDir;
  const executor = new ProcessExecutor();
  beforeEach(async () => {
    pool = await makeTempDir();
  });
  afterEach(() => pool.remove());

  it("reports every host with age, verdict and reason; an empty or garbage file cannot be judged, never DEAD; ignores what is not a heartbeat", async () => {
    await mkdir(pool.file("KVMHA"));
    const files: Record<string, string> = {
      "hb-10.0.0.1": `${NOW - 5}\n`,
      "hb-10.0.0.2": `${NOW - 400}\n`,
      "hb-10.0.0.3": "",
      "hb-10.0.0.4": "junk\n",
      "hb-bad name": `${NOW}\n`,
      "ac-10.0.0.2": `${NOW}:${NOW}:${NOW}\n`,
      ".hb-10.0.0.1.123.abc.tmp": `${NOW}\n`,
      "hbx-10.0.0.1.json": JSON.stringify({ seq: 7, bootId: "b" }),
    };
    for (const [name, content] of Object.entries(files)) await writeFile(pool.file(`KVMHA/${name}`), content);
    await utimes(pool.file("KVMHA/hb-10.0.0.1"), NOW - 8, NOW - 8);

    const result = await scanHeartbeats({ executor, ...worker, mountPoint: pool.path, nowEpochSeconds: NOW, maxAgeSeconds: 60, deadlineMs: 10_000 });
    expect(result.heartbeats.map((h) => [h.host, h.verdict, h.reason, h.ageSeconds])).toEqual([
      ["10.0.0.1", "alive", "fresh", 5],
      ["10.0.0.2", "dead", "stale", 400],
      ["10.0.0.3", "undecided", "empty", null],
      ["10.0.0.4", "undecided", "not-a-timestamp", null],
    ]);
    expect(result.heartbeats[0]).toMatchObject({ record: { seq: 7, bootId: "b" }, mtimeEpochSeconds: NOW - 8, writerClockOffsetSeconds: 3 });
    expect(result.ignored).toEqual(["hb-bad name"]);
  });

  it("names a pool without a heartbeat folder", async () => {
    await expect(scanHeartbeats({ executor, ...worker, mountPoint: pool.path, nowEpochSeconds: NOW, maxAgeSeconds: 60, deadlineMs: 10_000 })).rejects.toMatchObject({ code: "SCAN_FAILED" });
  });
});

describe("the two workers' scans of odd names and contents", () => {
  it("are the same: binary and non-ASCII content, a newline or invalid UTF-8 in a name, a big stray file, an unreadable record", async () => {
    const pool = await makeTempDir();
    try {
      await mkdir(pool.file("KVMHA"));
      const files: [string | Buffer, string | Buffer][] = [
        ["hb-10.0.0.1", `${NOW - 5}\n`],
        ["hb-10.0.0.2", Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x22, 0x5c, 0x7f, 0xe9])],
        ["hb-10.0.0.3", "é ü 1764000000\n"],
        ["hb-line\nbreak", `${NOW}\n`],
        [Buffer.from([0x68, 0x62, 0x2d, 0xff, 0xfe]), `${NOW}\n`],
        ["hb-10.0.0.4", "9".repeat(10_000)],
        ["hbx-10.0.0.1.json", Buffer.from([0x7b, 0xff, 0x7d])],
        ["hbx-10.0.0.4.json", " ".repeat(5000)],
      ];
      for (const [name, content] of files) await writeFile(Buffer.isBuffer(name) ? Buffer.concat([Buffer.from(`${pool.file("KVMHA")}/`), name]) : pool.file(`KVMHA/${name}`), content);
      const scan = (worker: (typeof WORKERS)[number]["worker"]) =>
        scanHeartbeats({ executor: new ProcessExecutor(), ...worker, mountPoint: pool.path, nowEpochSeconds: NOW, maxAgeSeconds: 60, deadlineMs: 10_000 });
      const [node, native] = [await scan(WORKERS[0].worker), await scan(WORKERS[1].worker)];
      const comparable = (result: Awaited<ReturnType<typeof scan>>) => ({ ...result, durationMs: 0 });
      expect(comparable(native)).toEqual(comparable(node));
      expect(node.heartbeats.map((h) => [h.host, h.reason])).toEqual([
        ["10.0.0.1", "fresh"],
        ["10.0.0.2", "not-a-timestamp"],
        ["10.0.0.3", "not-a-timestamp"],
        ["10.0.0.4", "not-a-timestamp"],
      ]);
      expect(node.ignored).toHaveLength(2);
    } finally {
      await pool.remove();
    }
  });
});
