import { deriveTiming, parseProperties, resolveConfig } from "@hb/config";
import { describe, expect, it } from "vitest";
import { fenceRunSettings, fenceSettings } from "./index.js";

const configOf = (text: string) => resolveConfig(parseProperties(text)).values;

describe("fenceRunSettings", () => {
  it("takes the file's action and dry run when the caller names none", () => {
    const config = configOf("kvm.heartbeat.fence.action=graceful-reboot\nhb.fence.dry.run=true\n");
    const run = fenceRunSettings(config);
    expect(run).toMatchObject({ action: "graceful-reboot", dryRun: true, isFence: false });
    expect(run.timing).toEqual(deriveTiming(config));
    expect(run.fence).toEqual(fenceSettings(config));
  });

  it("puts the caller's action over the file's, with the timing model of that action", () => {
    const config = configOf("kvm.heartbeat.fence.action=reboot\n");
    const run = fenceRunSettings(config, { action: "log-only" });
    expect(run).toMatchObject({ action: "log-only", dryRun: false, isFence: false });
    expect(run.timing.fenceAction).toBe("log-only");
    expect(run.timing.fences).toBe(false);
    expect(fenceRunSettings(config)).toMatchObject({ action: "hard-reboot", isFence: true });
  });

  it("a dry run never fences, whoever asks for it", () => {
    expect(fenceRunSettings(configOf(""), { dryRun: true })).toMatchObject({ action: "hard-reboot", dryRun: true, isFence: false });
    expect(fenceRunSettings(configOf(""), { dryRun: false })).toMatchObject({ dryRun: false, isFence: true });
  });

  it("counts custom as a fence only when hb.fence.custom.fences says so", () => {
    const custom = "kvm.heartbeat.fence.action=custom\nkvm.heartbeat.fence.custom.script=/usr/local/sbin/fence\n";
    expect(fenceRunSettings(configOf(custom)).isFence).toBe(false);
    expect(fenceRunSettings(configOf(`${custom}hb.fence.custom.fences=true\n`)).isFence).toBe(true);
  });
});
