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
