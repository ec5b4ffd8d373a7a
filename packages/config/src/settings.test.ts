import { describe, expect, it } from "vitest";
import { daemonSettings, deriveTiming, hostCheckSettings, parseProperties, resolveConfig, statusSettings, verifySettings } from "./index.js";

const configOf = (text: string) => resolveConfig(parseProperties(text)).values;

describe("settings projections", () => {
  it("tells hb where hbd answers, from the file or CloudStack's and hb's defaults", () => {
    expect(statusSettings(configOf(""))).toEqual({ stateDir: "/var/lib/hb", stepTimeoutMs: 2_000, statusListen: "127.0.0.1:9746" });
    expect(statusSettings(configOf("hb.state.dir=/srv/hb\nhb.fence.step.timeout=500\nhb.status.listen=127.0.0.1:9800\n"))).toEqual({ stateDir: "/srv/hb", stepTimeoutMs: 500, statusListen: "127.0.0.1:9800" });
  });

  it("gives hbd its action, whether it fences, and its rounds", () => {
    const config = configOf(
      "kvm.heartbeat.fence.action=log-only\nhb.fence.dry.run=true\nkvm.heartbeat.update.frequency=30000\nheartbeat.update.timeout=20000\nkvm.heartbeat.update.max.tries=3\n" +
        "hb.pools=/mnt/a\nhb.status.allow.remote=true\nhb.watchdog=device\nhb.watchdog.device=/dev/watchdog1\n",
    );
    expect(daemonSettings(config)).toMatchObject({
      fenceAction: "log-only",
      fences: false,
      dryRun: true,
      frequencyMs: 30_000,
      attemptTimeoutMs: 20_000,
      maxTries: 3,
      declaredPools: "/mnt/a",
      allowRemoteStatus: true,
      watchdog: "device",
      watchdogDevice: "/dev/watchdog1",
      stateDir: "/var/lib/hb",
      mountsFile: "/proc/self/mounts",
    });
    expect(daemonSettings(configOf("")).fences).toBe(true);
    // The reboot flag off: even reboot does not fence, as the timing model says.
    expect(daemonSettings(configOf("reboot.host.and.alert.management.on.heartbeat.timeout=false\n")).fences).toBe(false);
    expect(daemonSettings(configOf("")).declaredPools).toBeNull();
  });

  it("gives -c's verification the timing model's budget and the action it stands before", () => {
    const config = configOf("hb.fence.verify=storage\nkvm.heartbeat.fence.action=graceful-reboot\n");
    const settings = verifySettings(config);
    expect(settings.fenceAction).toBe("graceful-reboot");
    expect(settings.timing).toEqual(deriveTiming(config).verify);
    expect(settings.timing.mode).toBe("storage");
  });

  it("names the files hb doctor reads on the host, from the file or the defaults", () => {
    expect(hostCheckSettings(configOf(""))).toEqual({
      mountPath: "/mnt",
      declaredPools: null,
      mountsFile: "/proc/self/mounts",
      sysrqFile: "/proc/sys/kernel/sysrq",
      sysrqTrigger: "/proc/sysrq-trigger",
      fenceAction: "hard-reboot",
      watchdog: "none",
      watchdogDevice: "/dev/watchdog",
      scriptsDir: "scripts/vm/hypervisor/kvm",
    });
    const config = configOf(
      "mount.path=/srv/pools\nhb.pools=nfs:/srv/a\nhb.mounts.file=/tmp/mounts\nhb.sysrq.file=/tmp/sysrq\nhb.fence.sysrq.trigger=/tmp/trigger\n" +
        "kvm.heartbeat.fence.action=log-only\nhb.watchdog=device\nhb.watchdog.device=/dev/watchdog1\nkvm.scripts.dir=/opt/scripts\n",
    );
    expect(hostCheckSettings(config)).toEqual({
      mountPath: "/srv/pools",
      declaredPools: "nfs:/srv/a",
      mountsFile: "/tmp/mounts",
      sysrqFile: "/tmp/sysrq",
      sysrqTrigger: "/tmp/trigger",
      fenceAction: "log-only",
      watchdog: "device",
      watchdogDevice: "/dev/watchdog1",
      scriptsDir: "/opt/scripts",
    });
  });
});
