import { mkdir, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity, decideDiskActivity, judgeActivityHeartbeat, parseVolumeList, resolveVolume } from "./index.js";

const AC = "/mnt/p/KVMHA/ac-10.0.0.5";
const SUSPECT = 1_764_000_000;
const decide = (latestUpdate: number | null, previousAc: string | null) => decideDiskActivity({ suspectTime: SUSPECT, latestUpdate, previousAc, acFileForMessages: AC });

describe("kvmvmactivity.sh's decision, step by step", () => {
  it("step 1: a heartbeat younger than 61 s is ALIVE (hard-coded, not -t); only an older readable one lets the volumes decide", () => {
    const now = SUSPECT + 100;
    expect(judgeActivityHeartbeat({ kind: "content", text: `${now - 60}\n` }, now)).toMatchObject({ verdict: "alive", ageSeconds: 60 });
    expect(judgeActivityHeartbeat({ kind: "content", text: `${now - 61}\n` }, now)).toMatchObject({ verdict: "dead", reason: "stale", ageSeconds: 61 });
    expect(judgeActivityHeartbeat({ kind: "content", text: `${now + 5}\n` }, now).verdict).toBe("alive");
    expect(judgeActivityHeartbeat({ kind: "missing" }, now)).toMatchObject({ verdict: "undecided", reason: "missing" });
    expect(judgeActivityHeartbeat({ kind: "content", text: "" }, now)).toMatchObject({ verdict: "undecided", reason: "empty" });
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

  it("an ac file without an update time compares with the previous check's time", () => {
    expect(decide(SUSPECT + 61, `${SUSPECT}::${SUSPECT + 60}`)).toMatchObject({ verdict: "alive", comparedWith: SUSPECT + 60 });
    expect(decide(SUSPECT + 59, `${SUSPECT}::${SUSPECT + 60}`)).toMatchObject({ verdict: "dead", reason: "no-new-activity" });
  });

  it("cannot judge from an ac file it does not understand, unless a volume changed after the suspect time (upstream: expr's error first, read as ALIVE)", () => {
    expect(decide(SUSPECT + 1, "garbage")).toMatchObject({ decided: true, verdict: "alive", reason: "activity-after-suspect" });
    for (const ac of ["garbage", "", "\n", `${SUSPECT}`, `${SUSPECT}:abc:${SUSPECT}`, `DEAD:${SUSPECT}:${SUSPECT}`, `${SUSPECT}:${SUSPECT}:${SUSPECT}:${SUSPECT}`]) {
      expect(decide(SUSPECT, ac)).toMatchObject({ decided: false, cause: "ac-not-understood" });
    }
  });

  it("cannot judge 'no activity' when a volume could not be stat'ed; activity seen on another is still ALIVE", () => {
    const unstated = (latestUpdate: number | null, previousAc: string | null) => decideDiskActivity({ suspectTime: SUSPECT, latestUpdate, previousAc, acFileForMessages: AC, unstatedVolumes: 1 });
    expect(unstated(SUSPECT - 5, null)).toMatchObject({ decided: false, cause: "volumes-unreadable" });
    expect(unstated(null, `${SUSPECT}:${SUSPECT - 5}:${SUSPECT}`)).toMatchObject({ decided: false, cause: "volumes-unreadable" });
    expect(unstated(SUSPECT + 5, null)).toMatchObject({ decided: true, verdict: "alive" });
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
