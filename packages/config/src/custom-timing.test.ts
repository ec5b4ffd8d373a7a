import { describe, expect, it } from "vitest";
import { deriveTiming, isFencingAction, parseProperties, resolveConfig } from "./index.js";

const resolve = (text: string) => resolveConfig(parseProperties(text));
const timingOf = (text: string) => deriveTiming(resolve(text).values);

describe("the custom fence action", () => {
  it("is read with upstream's script key and hb's deadline; a deadline past its ceiling is refused", () => {
    const { values, problems } = resolve("kvm.heartbeat.fence.action=custom\n");
    expect(values["kvm.heartbeat.fence.action"]).toBe("custom");
    expect(values["kvm.heartbeat.fence.custom.script"]).toBe("/etc/cloudstack/agent/heartbeat-fence-custom.sh");
    expect(values["hb.fence.custom.deadline"]).toBe(30_000);
    expect(values["hb.fence.custom.fences"]).toBe(false);
    expect(problems).toEqual([]);
    const tooLong = resolve("hb.fence.custom.deadline=600001\n");
    expect(tooLong.values["hb.fence.custom.deadline"]).toBe(30_000);
    expect(tooLong.problems).toEqual([expect.objectContaining({ key: "hb.fence.custom.deadline", message: expect.stringMatching(/too large: at most 600000 ms/) })]);
  });

  it("does not fence unless the operator says so: no reset in the model, and the split-brain warning", () => {
    const model = timingOf("kvm.heartbeat.fence.action=custom\n");
    expect(model.fences).toBe(false);
    expect(model.resetLatestMs).toBeNull();
    const warning = model.invariants.find((invariant) => invariant.id === "fence-protects-disks");
    expect(warning).toMatchObject({ holds: false, message: expect.stringMatching(/custom does not fence \(hb\.fence\.custom\.fences=false/) });
    expect(model.timeline.find((event) => event.id === "reset-latest")?.text).toMatch(/^no reset: custom does not fence/);
    expect(isFencingAction("custom")).toBe(false);
    expect(isFencingAction("custom", true)).toBe(true);
  });

  it("fences when hb.fence.custom.fences is true: the reset comes at the latest after the script's deadline and the fallback", () => {
    const model = timingOf("kvm.heartbeat.fence.action=custom\nhb.fence.custom.fences=true\nhb.fence.custom.deadline=20000\n");
    expect(model.fences).toBe(true);
    // decision at 400 s + five 2 s steps + the script's 20 s + the 5 s flush wait of the fallback
    expect(model.resetLatestMs).toBe(400_000 + 10_000 + 20_000 + 5_000);
    expect(model.invariants.find((invariant) => invariant.id === "fence-protects-disks")?.holds).toBe(true);
  });

  it("takes the script's deadline out of -c's verification budget: timeout − the action's time to answer − 1 s", () => {
    const model = timingOf("kvm.heartbeat.fence.action=custom\nhb.fence.custom.deadline=20000\n");
    expect(model.verify.actionAnswerMs).toBe(10_000 + 20_000 + 5_000);
    expect(model.verify.deadlineMs).toBe(60_000 - 35_000 - 1_000);
    // The split-brain guard runs before a custom script that does not fence, so it counts too.
    const guarded = timingOf("kvm.heartbeat.fence.action=custom\nhb.fence.custom.deadline=20000\nhb.fence.kill.affected.vms=true\n");
    expect(guarded.verify.actionAnswerMs).toBe(35_000 + 6_000);
    const tooLong = timingOf("kvm.heartbeat.fence.action=custom\nhb.fence.custom.deadline=60000\n");
    expect(tooLong.verify.fitsMs).toBe(0);
    expect(tooLong.invariants.find((invariant) => invariant.id === "verify-fits-agent-timeout")?.holds).toBe(false);
  });
});
