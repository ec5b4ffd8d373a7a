// The fence action by upstream's current name: hard-reboot shown, reboot accepted, unknown values reported.
import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb } from "../../test/harness.js";

const temp = await makeTempDir("hb-action-name-");
afterAll(() => temp.remove());

async function show(value: string | null) {
  const file = temp.file(`agent-${Math.random().toString(36).slice(2)}.properties`);
  await writeFile(file, value === null ? "# nothing set\n" : `kvm.heartbeat.fence.action=${value}\n`);
  return runHb(["config", "show", "--file", file]);
}

describe("hb config show, the fence action", () => {
  it.each([
    [null, "default"],
    ["hard-reboot", "line 1"],
    ["reboot", "line 1"],
  ])("shows %s as hard-reboot", async (value, source) => {
    const { code, stdout } = await show(value);
    expect(code).toBe(0);
    expect(stdout).toMatch(new RegExp(`^kvm\\.heartbeat\\.fence\\.action\\s+hard-reboot\\s+${source}$`, "m"));
  });

  it("shows custom as custom, and reports an unknown value, read as hard-reboot", async () => {
    expect((await show("custom")).stdout).toMatch(/^kvm\.heartbeat\.fence\.action\s+custom\s+line 1$/m);
    const { stdout } = await show("shutdown");
    // An unusable value is not the source of the value used: the default is.
    expect(stdout).toMatch(/^kvm\.heartbeat\.fence\.action\s+hard-reboot\s+default$/m);
    expect(stdout).toContain("not a fence action (hard-reboot, graceful-reboot, restart-agent, log-only, custom; reboot = hard-reboot); using the default hard-reboot");
  });
});
