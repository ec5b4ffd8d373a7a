import { FENCE_ACTIONS, resolveConfig } from "@hb/config";
import { ProcessExecutor, SystemClock } from "@hb/core";
import { parseProperties } from "@hb/config";
import { describe, expect, it } from "vitest";
import { createFenceAction, fenceSettings } from "./index.js";

describe("createFenceAction", () => {
  it("makes the action of each name, as a FenceAction", () => {
    const settings = fenceSettings(resolveConfig(null).values);
    for (const name of FENCE_ACTIONS) {
      const action = createFenceAction(name, { executor: new ProcessExecutor(), clock: new SystemClock(), settings, source: "hbd", version: "1" });
      expect(action.name).toBe(name);
    }
  });

  it("takes its settings from the configuration, CloudStack's and hb's defaults included", () => {
    expect(fenceSettings(resolveConfig(null).values)).toEqual({
      flushWaitMs: 5000,
      gracefulDeadlineMs: 120_000,
      stepTimeoutMs: 2000,
      sysrqTrigger: "/proc/sysrq-trigger",
      agentService: "cloudstack-agent",
      killAffectedVms: false,
      stateDir: "/var/lib/hb",
      watchdogDevice: "/dev/watchdog",
      customScript: "/etc/cloudstack/agent/heartbeat-fence-custom.sh",
      customDeadlineMs: 30_000,
      customFences: false,
    });
    const doc = parseProperties("hb.fence.flush.wait=1000\nhb.state.dir=/srv/hb\nhb.fence.kill.affected.vms=true\n");
    expect(fenceSettings(resolveConfig(doc).values)).toMatchObject({ flushWaitMs: 1000, stateDir: "/srv/hb", killAffectedVms: true });
  });
});
