import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PROPERTY_KEYS, PROPERTY_SPECS, parseProperties, readPropertiesFile, resolveConfig } from "./index.js";

const fixture = (name: string) => fileURLToPath(new URL(`../test/fixtures/${name}`, import.meta.url));
const resolveText = (text: string) => resolveConfig(parseProperties(text));

describe("effective heartbeat configuration", () => {
  it("is CloudStack's defaults when there is no file", () => {
    const { values, problems } = resolveConfig(null);
    expect(values).toMatchObject({
      "heartbeat.update.timeout": 60000,
      "kvm.heartbeat.update.frequency": 60000,
      "kvm.heartbeat.update.max.tries": 5,
      "kvm.heartbeat.update.retry.sleep": 10000,
      "kvm.heartbeat.checker.timeout": 360000,
      "reboot.host.and.alert.management.on.heartbeat.timeout": true,
      "kvm.heartbeat.fence.action": "hard-reboot",
      "mount.path": "/mnt",
      "private.network.device": null,
    });
    expect(problems).toEqual([]);
  });

  it("reads the upstream template (every heartbeat key commented out) as all defaults, with no problem", async () => {
    const resolved = resolveConfig(await readPropertiesFile(fixture("upstream-template.properties")));
    expect(resolved.problems).toEqual([]);
    expect(resolved.values).toEqual(resolveConfig(null).values);
    expect(Object.values(resolved.sources).every((source) => source.kind === "default")).toBe(true);
  });

  it("takes valid values with their type and line", () => {
    const { values, sources, problems } = resolveText(
      "kvm.heartbeat.update.frequency = 10000\nheartbeat.update.timeout:+30000\nkvm.heartbeat.update.retry.sleep 0\nkvm.heartbeat.fence.action=log-only\nprivate.network.device=cloudbr1\n",
    );
    expect(problems).toEqual([]);
    expect(values["kvm.heartbeat.update.frequency"]).toBe(10000);
    expect(values["heartbeat.update.timeout"]).toBe(30000);
    expect(values["kvm.heartbeat.update.retry.sleep"]).toBe(0);
    expect(values["kvm.heartbeat.fence.action"]).toBe("log-only");
    expect(values["private.network.device"]).toBe("cloudbr1");
    expect(sources["heartbeat.update.timeout"]).toEqual({ kind: "file", line: 2 });
  });

  it("turns every invalid value into a problem with key, line, value and the default used instead", async () => {
    const { values, problems } = resolveConfig(await readPropertiesFile(fixture("invalid.properties")));
    const byKey = (key: string) => problems.filter((problem) => problem.key === key);
    expect(byKey("heartbeat.update.timeout")).toEqual([
      { kind: "invalid", key: "heartbeat.update.timeout", line: 2, value: "60s", message: "not a whole number; using the default 60000", used: 60000 },
    ]);
    expect(byKey("kvm.heartbeat.update.frequency")[0]).toMatchObject({ line: 3, value: "0", used: 60000, message: expect.stringMatching(/more than 0/) });
    expect(byKey("kvm.heartbeat.update.max.tries")[0]).toMatchObject({ line: 4, value: "-3", used: 5, message: expect.stringMatching(/1 or more/) });
    expect(byKey("kvm.heartbeat.update.retry.sleep")[0]).toMatchObject({ kind: "empty", line: 5, used: 10000 });
    expect(byKey("kvm.heartbeat.checker.timeout")[0]).toMatchObject({ line: 6, used: 360000, message: expect.stringMatching(/too large/) });
    expect(byKey("reboot.host.and.alert.management.on.heartbeat.timeout")[0]).toMatchObject({ line: 7, value: "maybe", used: true });
    // Two occurrences: the last (line 9) counts; "custom" is an action, the first one ("shutdown") is not read.
    expect(byKey("kvm.heartbeat.fence.action").map((p) => [p.kind, p.line, p.value, p.used])).toEqual([["duplicate", 9, "custom", undefined]]);
    expect(values["kvm.heartbeat.fence.action"]).toBe("custom");
    expect(byKey("mount.path")[0]).toMatchObject({ line: 10, used: "/mnt", message: expect.stringMatching(/absolute/) });
    expect(byKey("hb.state.dirr")[0]).toMatchObject({ kind: "unknown-key", line: 11 });
    expect(byKey("kvm.heartbeat.fence.custom.script")).toEqual([]);
    expect(values["kvm.heartbeat.fence.custom.script"]).toBe("/etc/cloudstack/agent/fence.sh");
    for (const key of PROPERTY_KEYS) {
      if (byKey(key).some((problem) => problem.kind === "invalid" || problem.kind === "empty")) {
        expect(values[key], key).toBe(PROPERTY_SPECS[key].defaultValue);
      }
    }
  });

  it("rejects a timeout the agent's Java int cannot hold", () => {
    expect(resolveText("heartbeat.update.timeout=2147483648\n").problems[0]?.message).toMatch(/Java int/);
    // Below the Java limit, hb's own ceiling (an hour, see ceilings.test.ts) is the bound.
    expect(resolveText("heartbeat.update.timeout=2147483647\n").values["heartbeat.update.timeout"]).toBe(60000);
    expect(resolveText("heartbeat.update.timeout=3600000\n").values["heartbeat.update.timeout"]).toBe(3600000);
  });

  it.each([
    ["true", true],
    ["YES", true],
    ["y", true],
    ["On", true],
    ["1", true],
    ["false", false],
    ["No", false],
    ["N", false],
    ["OFF", false],
    ["0", false],
  ])("reads boolean %j as %s", (word, expected) => {
    const { values, problems } = resolveText(`reboot.host.and.alert.management.on.heartbeat.timeout=${word}\n`);
    expect(values["reboot.host.and.alert.management.on.heartbeat.timeout"]).toBe(expected);
    expect(problems).toEqual([]);
  });

  it("keeps fencing on for an invalid boolean, where upstream's converter would silently turn it off", () => {
    const { values, problems } = resolveText("reboot.host.and.alert.management.on.heartbeat.timeout=ture\n");
    expect(values["reboot.host.and.alert.management.on.heartbeat.timeout"]).toBe(true);
    expect(problems[0]).toMatchObject({ kind: "invalid", value: "ture", used: true });
  });

  it("reads a boolean with trailing blanks as meant, and warns that the agent reads it as false", () => {
    const { values, problems } = resolveText("reboot.host.and.alert.management.on.heartbeat.timeout=true  \n");
    expect(values["reboot.host.and.alert.management.on.heartbeat.timeout"]).toBe(true);
    expect(problems[0]).toMatchObject({ kind: "agent-difference", value: "true  ", used: true });
    expect(problems[0]?.message).toMatch(/agent reads it as false/);
  });

  it.each([
    ["reboot", "hard-reboot"],
    ["hard-reboot", "hard-reboot"],
    [" graceful-reboot ", "graceful-reboot"],
    ["restart-agent", "restart-agent"],
    ["log-only", "log-only"],
    ["custom", "custom"],
  ])("reads fence action %j as %s", (raw, expected) => {
    const { values, problems } = resolveText(`kvm.heartbeat.fence.action=${raw}\n`);
    expect(values["kvm.heartbeat.fence.action"]).toBe(expected);
    expect(problems).toEqual([]);
  });

  it("falls back to hard-reboot, the safe choice, for an unknown fence action", () => {
    const { values, problems } = resolveText("kvm.heartbeat.fence.action=Log-Only\n");
    expect(values["kvm.heartbeat.fence.action"]).toBe("hard-reboot");
    expect(problems[0]).toMatchObject({ key: "kvm.heartbeat.fence.action", line: 1, value: "Log-Only", used: "hard-reboot" });
  });

  it("treats a blank value as absent, as the agent does, and says so", () => {
    const { values, problems } = resolveText("kvm.heartbeat.update.max.tries=   \n");
    expect(values["kvm.heartbeat.update.max.tries"]).toBe(5);
    expect(problems[0]).toMatchObject({ kind: "empty", line: 1, used: 5 });
  });
});
