// checkVmActivity on real files, through its storage worker (src/activity.test.ts: the decision alone).
import { mkdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity } from "../src/index.js";

const SUSPECT = 1_764_000_000;

describe("checkVmActivity on real files", () => {
  let pool: TempDir;
  const executor = new ProcessExecutor();
  const NOW = SUSPECT + 300;
  const options = (volumes: readonly string[]) => ({
    executor,
    mountPoint: pool.path,
    hostId: "10.0.0.5",
    volumes,
    suspectTime: SUSPECT,
    checkTime: String(NOW),
    nowEpochSeconds: NOW,
    deadlineMs: 10_000,
  });

  beforeEach(async () => {
    pool = await makeTempDir();
    await mkdir(pool.file("KVMHA"));
    await writeFile(pool.file("vol-1"), "disk");
    await writeFile(pool.file("vol-2"), "disk");
    await utimes(pool.file("vol-1"), SUSPECT - 100, SUSPECT - 100);
    await utimes(pool.file("vol-2"), SUSPECT + 30, SUSPECT + 30);
  });
  afterEach(() => pool.remove());

  it("stops at a fresh heartbeat without touching the volumes or the ac file", async () => {
    await writeFile(pool.file("KVMHA/hb-10.0.0.5"), `${NOW - 10}\n`);
    expect(await checkVmActivity(options(["vol-1"]))).toMatchObject({ decided: true, verdict: "alive", reason: "heartbeat" });
    await expect(readFile(pool.file("KVMHA/ac-10.0.0.5"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("takes the newest mtime of the volumes, ignoring ones that do not exist, and remembers it in ac-<host>", async () => {
    await writeFile(pool.file("KVMHA/hb-10.0.0.5"), `${NOW - 200}\n`);
    const first = await checkVmActivity(options(["vol-1", "vol-2", "gone"]));
    expect(first).toMatchObject({ decided: true, verdict: "alive", reason: "activity-after-suspect", latestUpdate: SUSPECT + 30 });
    expect(await readFile(pool.file("KVMHA/ac-10.0.0.5"), "utf8")).toBe(`${SUSPECT}:${SUSPECT + 30}:${NOW}\n`);

    // Same episode, nothing written since: no activity.
    const second = await checkVmActivity(options(["vol-1", "vol-2"]));
    expect(second).toMatchObject({ decided: true, verdict: "dead", reason: "no-new-activity" });

    await utimes(pool.file("vol-1"), SUSPECT + 40, SUSPECT + 40);
    expect(await checkVmActivity(options(["vol-1", "vol-2"]))).toMatchObject({ verdict: "alive", reason: "activity-since-last-check" });
  });

  it("is DEAD for an empty volume list once the heartbeat is old", async () => {
    await writeFile(pool.file("KVMHA/hb-10.0.0.5"), `${NOW - 200}\n`);
    expect(await checkVmActivity(options([]))).toMatchObject({ verdict: "dead", reason: "empty-volume-list", line: "=====> Considering host as DEAD due to empty UUIDList <======" });
  });

  it.each([
    ["the heartbeat file is missing", null, "heartbeat-missing"],
    ["the heartbeat file is empty (an upstream writer killed mid-write)", "", "heartbeat-empty"],
    ["the heartbeat file is garbage", "DEAD\n", "heartbeat-not-a-timestamp"],
  ])("cannot judge when %s, even with no volume written and an empty list; the ac file is left alone", async (_what, content, cause) => {
    if (content !== null) await writeFile(pool.file("KVMHA/hb-10.0.0.5"), content);
    for (const volumes of [["vol-1"], []]) {
      expect(await checkVmActivity(options(volumes))).toMatchObject({ decided: false, cause });
    }
    await expect(readFile(pool.file("KVMHA/ac-10.0.0.5"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("cannot judge a pool without KVMHA/ or without its mount point", async () => {
    await rm(pool.file("KVMHA"), { recursive: true });
    expect(await checkVmActivity(options(["vol-1"]))).toMatchObject({ decided: false, cause: "heartbeat-missing" });
    expect(await checkVmActivity({ ...options(["vol-1"]), mountPoint: pool.file("absent") })).toMatchObject({ decided: false, cause: "heartbeat-missing" });
  });

  it("cannot judge 'no activity' when a volume cannot be stat'ed (here ELOOP): it might have been written", async () => {
    await writeFile(pool.file("KVMHA/hb-10.0.0.5"), `${NOW - 200}\n`);
    await symlink("loop", pool.file("loop"));
    expect(await checkVmActivity(options(["vol-1", "loop/disk"]))).toMatchObject({ decided: false, cause: "volumes-unreadable" });
    expect(await checkVmActivity(options(["vol-2", "loop/disk"]))).toMatchObject({ decided: true, verdict: "alive" });
  });

  it("cannot judge from a garbage ac file when no volume changed after the suspect time", async () => {
    await writeFile(pool.file("KVMHA/hb-10.0.0.5"), `${NOW - 200}\n`);
    await writeFile(pool.file("KVMHA/ac-10.0.0.5"), "not:an:ac:file\n");
    expect(await checkVmActivity(options(["vol-1"]))).toMatchObject({ decided: false, cause: "ac-not-understood" });
  });
});
