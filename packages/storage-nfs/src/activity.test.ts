import { describe, expect, it } from "vitest";
import { decideDiskActivity, judgeActivityHeartbeat, parseVolumeList, resolveVolume } from "./index.js";

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
