import { mkdir, readFile, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity, decideDiskActivity, heartbeatShowsLife, parseVolumeList, resolveVolume } from "./index.js";

const AC = "/mnt/p/KVMHA/ac-10.0.0.5";
const SUSPECT = 1_764_000_000;
const decide = (latestUpdate: number | null, previousAc: string | null) => decideDiskActivity({ suspectTime: SUSPECT, latestUpdate, previousAc, acFileForMessages: AC });

describe("kvmvmactivity.sh's decision, step by step", () => {
  it("step 1: a heartbeat younger than 61 s is ALIVE (hard-coded, not -t)", () => {
    const now = SUSPECT + 100;
    expect(heartbeatShowsLife({ kind: "content", text: `${now - 60}\n` }, now)).toEqual({ alive: true, ageSeconds: 60 });
    expect(heartbeatShowsLife({ kind: "content", text: `${now - 61}\n` }, now)).toEqual({ alive: false, ageSeconds: 61 });
    expect(heartbeatShowsLife({ kind: "content", text: `${now + 5}\n` }, now).alive).toBe(true);
    expect(heartbeatShowsLife({ kind: "missing" }, now).alive).toBe(false);
    expect(heartbeatShowsLife({ kind: "content", text: "" }, now).alive).toBe(false);
  });

  it("no ac file: ALIVE iff a volume changed after the suspect time", () => {
    expect(decide(SUSPECT + 1, null)).toMatchObject({ verdict: "alive", reason: "activity-after-suspect", line: "=====> ALIVE <=====" });
    expect(decide(SUSPECT, null)).toMatchObject({
      verdict: "dead",
      reason: "no-ac-file",
      line: "=====> Considering host as DEAD due to file [/mnt/p/KVMHA/ac-10.0.0.5] does not exists and condition [latestUpdateTime -gt SuspectTime] has not been satisfied. <======",
    });
  });

  it("ac file from a later suspect episode (suspect time went back): compared with the suspect time", () => {
    const previous = `${SUSPECT + 50}:${SUSPECT - 10}:${SUSPECT + 60}`;
    expect(decide(SUSPECT + 1, previous)).toMatchObject({ verdict: "alive", comparedWith: SUSPECT });
    expect(decide(SUSPECT, previous)).toMatchObject({
      verdict: "dead",
      reason: "earlier-suspect",
      line: "=====> Considering host as DEAD due to file [/mnt/p/KVMHA/ac-10.0.0.5] exist, condition [suspectTimeDiff -lt 0] was satisfied and [latestUpdateTime -gt SuspectTime] has not been satisfied. <======",
    });
  });

  it("ac file of the same or an earlier episode: ALIVE iff a volume changed since the last check saw it", () => {
    const previous = `${SUSPECT}:${SUSPECT + 20}:${SUSPECT + 60}`;
    expect(decide(SUSPECT + 21, previous)).toMatchObject({ verdict: "alive", reason: "activity-since-last-check", comparedWith: SUSPECT + 20 });
    expect(decide(SUSPECT + 20, previous)).toMatchObject({
      verdict: "dead",
      reason: "no-new-activity",
      line: "=====> Considering host as DEAD due to file [/mnt/p/KVMHA/ac-10.0.0.5] exist and conditions [suspectTimeDiff -lt 0] and [latestUpdateTime -gt SuspectTime] have not been satisfied. <======",
    });
  });

  it("no volume could be stat'ed: no activity (upstream's empty number is 0)", () => {
    expect(decide(null, null)).toMatchObject({ verdict: "dead", reason: "no-ac-file" });
  });

  it("an ac file without an update time compares with the previous check's time; an unreadable one counts as absent", () => {
    expect(decide(SUSPECT + 61, `${SUSPECT}::${SUSPECT + 60}`)).toMatchObject({ verdict: "alive", comparedWith: SUSPECT + 60 });
    expect(decide(SUSPECT + 59, `${SUSPECT}::${SUSPECT + 60}`)).toMatchObject({ verdict: "dead", reason: "no-new-activity" });
    expect(decide(SUSPECT + 1, "garbage")).toMatchObject({ verdict: "alive", reason: "activity-after-suspect" });
    expect(decide(SUSPECT, "")).toMatchObject({ verdict: "dead", reason: "no-ac-file" });
  });
});

describe("the volume list", () => {
  it("splits on commas and blanks as the script's word splitting does", () => {
    expect(parseVolumeList("a,b, c,,d")).toEqual(["a", "b", "c", "d"]);
    expect(parseVolumeList("")).toEqual([]);
    expect(parseVolumeList(",")).toEqual([]);
  });

  it("resolves volumes inside the mount point and refuses any that leave it", () => {
    expect(resolveVolume("/mnt/p", "vol-1")).toBe("/mnt/p/vol-1");
    expect(resolveVolume("/mnt/p", "/mnt/p/vol-1")).toBe("/mnt/p/vol-1");
    expect(() => resolveVolume("/mnt/p", "../etc/shadow")).toThrow(expect.objectContaining({ code: "INVALID_VOLUME" }));
    expect(() => resolveVolume("/mnt/p", "/etc/shadow")).toThrow(expect.objectContaining({ code: "INVALID_VOLUME" }));
  });
});

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
    expect(await checkVmActivity(options([]))).toMatchObject({ verdict: "dead", reason: "empty-volume-list", line: "=====> Considering host as DEAD due to empty UUIDList <======" });
  });
});
