import { mkdir, readdir, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core/adapters";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity } from "../src/index.js";

const HOST = "10.0.0.5";

describe("the activity check sweeps leftovers of killed checks", () => {
  let pool: TempDir;
  beforeEach(async () => {
    pool = await makeTempDir("hb-nfs-ac-sweep-");
  });
  afterEach(() => pool.remove());

  it("removes .ac-*.tmp files older than ten minutes, whoever wrote them, and keeps recent ones and other files", async () => {
    const now = Math.floor(Date.now() / 1000);
    await mkdir(pool.file("KVMHA"));
    await writeFile(pool.file(`KVMHA/hb-${HOST}`), `${now - 600}\n`);
    await writeFile(pool.file("vol-1"), "disk");
    await utimes(pool.file("vol-1"), now - 900, now - 900);
    // A neighbour's check killed an hour ago (its pid means nothing on this host), one in flight, and the writer's own.
    const old = [`.ac-${HOST}.4242.1a2b.tmp`, ".ac-10.0.0.9.77.3c4d.tmp"];
    const kept = [`.ac-${HOST}.4243.5e6f.tmp`, `.hb-${HOST}.999999.7a8b.tmp`, "ac-notes.tmp"];
    for (const name of [...old, ...kept]) await writeFile(pool.file(`KVMHA/${name}`), "x\n");
    for (const name of [...old, "ac-notes.tmp"]) await utimes(pool.file(`KVMHA/${name}`), now - 3600, now - 3600);

    const result = await checkVmActivity({
      executor: new ProcessExecutor(),
      mountPoint: pool.path,
      hostId: HOST,
      volumes: ["vol-1"],
      suspectTime: now - 300,
      checkTime: String(now),
      nowEpochSeconds: now,
      deadlineMs: 10_000,
    });
    expect(result).toMatchObject({ decided: true });
    expect((await readdir(pool.file("KVMHA"))).sort()).toEqual([`ac-${HOST}`, `hb-${HOST}`, ...kept].sort());
  });
});
