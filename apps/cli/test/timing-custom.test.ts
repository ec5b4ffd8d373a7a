// hb timing explain with the custom action: its deadline in -c's budget, and the split-brain
// warning unless the operator says the script fences.
import { writeFile } from "node:fs/promises";
import { makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

let temp: TempDir;
beforeEach(async () => {
  temp = await makeTempDir("hb-timing-custom-");
});
afterEach(async () => {
  await temp.remove();
});

async function explain(lines: readonly string[]) {
  const file = temp.file("agent.properties");
  await writeFile(file, `${lines.join("\n")}\n`);
  return runHb(["timing", "explain", "--file", file]);
}

describe("hb timing explain, custom", () => {
  it("warns that custom is not a fence by default, and takes its deadline out of -c's verification", async () => {
    const { code, stdout } = await explain(["kvm.heartbeat.fence.action=custom", "hb.fence.custom.deadline=20000", "kvm.heartbeat.fence.custom.script=/etc/hb/pdu-off.sh"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Fence action: custom — run the operator's script");
    expect(stdout).toContain("NOT a fence (hb.fence.custom.fences is false)");
    expect(stdout).toContain("custom runs /etc/hb/pdu-off.sh for at most 20 s (then its process group is killed); when it cannot run, fails or overruns, hb resets the host through sysrq b. WARNING hb does not count it as a fence");
    // 60 s − (five 2 s steps + 20 s + 5 s flush wait) − 1 s
    expect(stdout).toContain("-c verifies (hb.fence.verify=drbd-quorum) for at most 24 s before the action starts: the agent kills -c at 60 s, the action needs up to 35 s to answer it.");
    expect(stdout).toContain("WARNING fence-protects-disks: fence action custom does not fence (hb.fence.custom.fences=false");
  });

  it("counts custom as a fence when hb.fence.custom.fences is true: a reset time, no split-brain warning", async () => {
    const { stdout } = await explain(["kvm.heartbeat.fence.action=custom", "hb.fence.custom.fences=true"]);
    expect(stdout).not.toContain("NOT a fence");
    expect(stdout).not.toContain("fence-protects-disks");
    expect(stdout).toMatch(/host reset at the latest \(custom: \/etc\/cloudstack\/agent\/heartbeat-fence-custom\.sh within 30 s/);
  });
});
