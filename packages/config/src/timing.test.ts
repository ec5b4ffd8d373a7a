import { describe, expect, it } from "vitest";
import { deriveTiming, formatSeconds, neighbourThresholdMs, parseProperties, resolveConfig } from "./index.js";

const timingOf = (text: string) => deriveTiming(resolveConfig(parseProperties(text)).values);
const broken = (text: string) => timingOf(text).invariants.filter((invariant) => !invariant.holds).map((invariant) => invariant.id);

describe("timing model", () => {
  it("derives the worst case from CloudStack's defaults", () => {
    const model = timingOf("");
    expect(model.decisionEarliestMs).toBe(100_000); // 60 s pause + 4 sleeps of 10 s
    expect(model.decisionLatestMs).toBe(400_000); // 60 s + 5 × 60 s + 4 × 10 s
    expect(model.resetLatestMs).toBe(411_000); // + three 2 s steps (record, syslog, sysrq s) + 5 s flush wait
    expect(model.upstreamDecisionLatestMs).toBe(410_000); // upstream sleeps after the last try too
    expect(model.upstreamResetLatestMs).toBe(415_000); // + sleep 5 in the script
    expect(model.neighbourDeadAfterMs).toBe(61_000); // -t 60, age > 60 in whole seconds
    expect(model.healthyMaxGapMs).toBe(120_000);
    expect(model.earliestRecoveryElsewhereMs).toBe(61_000 + 7 * 60_000); // ceil(0.7 × 10) checks
  });

  it("carries the tries and the pause it derives from, so that no reader takes them from the file again", () => {
    expect(timingOf("")).toMatchObject({ attemptDeadlineMs: 60_000, maxTries: 5, retrySleepMs: 10_000 });
    expect(timingOf("kvm.heartbeat.update.max.tries=3\nkvm.heartbeat.update.retry.sleep=2500\n")).toMatchObject({ maxTries: 3, retrySleepMs: 2_500 });
  });

  it("gives readers the neighbour threshold: the agent's -t in whole seconds, or hb.heartbeat.max.age when longer", () => {
    expect(timingOf("").neighbourThresholdMs).toBe(60_000);
    expect(timingOf("kvm.heartbeat.update.frequency=61500\n").neighbourThresholdMs).toBe(61_000); // -t 61
    expect(timingOf("hb.heartbeat.max.age=90000\n")).toMatchObject({ neighbourThresholdMs: 90_000, neighbourDeadAfterMs: 91_000 });
    expect(timingOf("hb.heartbeat.max.age=30000\n").neighbourThresholdMs).toBe(60_000);
    // An agent that passes its own -t: hb.heartbeat.max.age still wins when longer.
    expect(neighbourThresholdMs(45_000, 90_000)).toBe(90_000);
    expect(neighbourThresholdMs(45_000, null)).toBe(45_000);
  });

  it("warns that upstream's defaults let a neighbour call a healthy host dead, never refuses", () => {
    expect(broken("")).toEqual(["neighbour-threshold-covers-writer"]);
  });

  it("holds every invariant once hb's reader waits longer than a slow healthy round", () => {
    expect(broken("heartbeat.update.timeout=20000\nhb.heartbeat.max.age=81000\n")).toEqual([]);
    expect(broken("heartbeat.update.timeout=20000\nhb.heartbeat.max.age=80000\n")).toEqual(["neighbour-threshold-covers-writer"]);
  });

  it("flags a fence that completes after the management server may restart the VMs elsewhere", () => {
    const text = "heartbeat.update.timeout=120000\nhb.heartbeat.max.age=200000\n";
    const model = timingOf(text);
    expect(model.resetLatestMs).toBe(60_000 + 5 * 120_000 + 4 * 10_000 + 3 * 2_000 + 5_000);
    expect(broken(text)).toContain("fence-before-recovery");
  });

  it("says that restart-agent, log-only and a disabled reboot flag do not fence", () => {
    for (const text of ["kvm.heartbeat.fence.action=log-only\n", "kvm.heartbeat.fence.action=restart-agent\n", "reboot.host.and.alert.management.on.heartbeat.timeout=false\n"]) {
      const model = timingOf(text);
      expect(model.fences).toBe(false);
      expect(model.resetLatestMs).toBeNull();
      expect(broken(text)).toContain("fence-protects-disks");
    }
  });

  it("counts graceful-reboot's deadline, its bounded steps and the fallback's flush wait", () => {
    const model = timingOf("kvm.heartbeat.fence.action=graceful-reboot\nhb.fence.step.timeout=1000\n");
    expect(model.resetLatestMs).toBe(400_000 + 120_000 + 2 * 1_000 + 5_000);
  });

  it("orders the timeline from the last good heartbeat", () => {
    const ids = timingOf("").timeline.map((event) => event.id);
    expect(ids).toEqual(["last-good", "next-round", "neighbour-dead", "decision-earliest", "decision-latest", "reset-latest", "recovery-elsewhere"]);
  });

  it("gives -c's verification what heartbeat.update.timeout leaves after the action's answer and the start-up", () => {
    const model = timingOf("");
    // 60 s − (record, syslog, sysrq s: 3 × 2 s, + 5 s flush wait) − 1 s start-up
    expect(model.verify).toEqual({
      mode: "drbd-quorum",
      deadlineMs: 48_000,
      fitsMs: 48_000,
      configuredMs: null,
      actionAnswerMs: 11_000,
      startMarginMs: 1_000,
      daemonQueryMs: 2_000,
      agentKillsAtMs: 60_000,
    });
    expect(timingOf("kvm.heartbeat.fence.action=log-only\n").verify.deadlineMs).toBe(60_000 - 2 * 2_000 - 1_000);
    expect(timingOf("kvm.heartbeat.fence.action=log-only\nhb.fence.kill.affected.vms=true\n").verify.deadlineMs).toBe(60_000 - 5 * 2_000 - 1_000);
    expect(timingOf("kvm.heartbeat.fence.action=graceful-reboot\n").verify.deadlineMs).toBe(60_000 - 7 * 2_000 - 1_000);
  });

  it("keeps a configured verify timeout that fits, and cuts one that would let the agent kill -c before the action starts", () => {
    const fits = timingOf("hb.fence.verify.timeout=10000\n");
    expect([fits.verify.deadlineMs, fits.verify.configuredMs]).toEqual([10_000, 10_000]);
    expect(broken("hb.fence.verify.timeout=10000\n")).not.toContain("verify-fits-agent-timeout");
    const tooLong = timingOf("hb.fence.verify.timeout=55000\n");
    expect(tooLong.verify.deadlineMs).toBe(48_000);
    expect(broken("hb.fence.verify.timeout=55000\n")).toContain("verify-fits-agent-timeout");
    expect(tooLong.invariants.find((invariant) => invariant.id === "verify-fits-agent-timeout")?.message).toMatch(/verifies for at most 48 s/);
  });

  it("says when heartbeat.update.timeout leaves no time to verify, unless verification is off", () => {
    const model = timingOf("heartbeat.update.timeout=5000\n");
    expect([model.verify.deadlineMs, model.verify.daemonQueryMs]).toEqual([0, 0]);
    expect(broken("heartbeat.update.timeout=5000\n")).toContain("verify-fits-agent-timeout");
    expect(broken("heartbeat.update.timeout=5000\nhb.fence.verify=none\n")).not.toContain("verify-fits-agent-timeout");
  });

  it("warns that hb.fence.verify=storage trades split-brain protection for uptime", () => {
    expect(broken("hb.fence.verify=storage\n")).toContain("fence-verify-storage");
    expect(broken("hb.fence.verify=none\n")).not.toContain("fence-verify-storage");
    expect(broken("")).not.toContain("fence-verify-storage");
  });

  it("formats milliseconds as seconds", () => {
    expect(formatSeconds(60_000)).toBe("60 s");
    expect(formatSeconds(1_500)).toBe("1.5 s");
  });
});
