import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb } from "../../test/harness.js";

const temp = await makeTempDir("hb-timing-");
afterAll(() => temp.remove());

describe("hb timing explain past a ceiling", () => {
  it("explains the defaults that hbd uses instead, and names the value it refused", async () => {
    const file = temp.file("agent.properties");
    await writeFile(file, "kvm.heartbeat.update.frequency=3000000000\nkvm.heartbeat.fence.action=graceful-reboot\nhb.fence.graceful.deadline=9999999999\n");
    const { code, stdout } = await runHb(["timing", "explain", "--file", file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/t = +60 s {2}next round starts \(kvm\.heartbeat\.update\.frequency 60 s\)/);
    expect(stdout).toMatch(/falling back to sysrq b after 120 s/);
    expect(stdout).toMatch(new RegExp(`config ${file}:1: kvm\\.heartbeat\\.update\\.frequency: too large: more than 2147483647 ms`));
    expect(stdout).toMatch(new RegExp(`config ${file}:3: hb\\.fence\\.graceful\\.deadline: too large`));
  });
});
