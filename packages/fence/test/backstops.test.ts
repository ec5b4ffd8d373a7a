import { spawnSync } from "node:child_process";
import { ProcessExecutor, SystemClock } from "@hb/core";
import { chmod, mkdir, readFile, readlink, writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { useFakeHosts } from "./fakes.js";
import { closeHeldDevice, gracefulRebootGuarantee, hostGracefulRebootGuarantee, JOB_TIMEOUT_DROP_IN, systemdJobTimeoutBackstop, watchdogBackstop } from "../src/index.js";

const { host, cleanups } = useFakeHosts();

const base = () => ({ executor: new ProcessExecutor(), clock: new SystemClock(), stepTimeoutMs: 300 });

describe("systemd job-timeout backstop", () => {
  it("writes a reboot.target drop-in forcing the reboot at the deadline, then reloads systemd", async () => {
    const fake = await host();
    const unitDir = fake.temp.file("systemd");
    await mkdir(unitDir);
    const result = await systemdJobTimeoutBackstop({ ...base(), runtimeUnitDir: unitDir }).arm(125);
    expect(result).toEqual({ ok: true, detail: `reboot.target forced after 125 s (${unitDir}/${JOB_TIMEOUT_DROP_IN}, daemon reloaded)` });
    const text = await readFile(`${unitDir}/${JOB_TIMEOUT_DROP_IN}`, "utf8");
    expect(text.split("\n").filter((line) => !line.startsWith("#"))).toEqual(["[Unit]", "JobTimeoutSec=125", "JobTimeoutAction=reboot-force", ""]);
    expect(await fake.eventNames()).toEqual(["systemctl daemon-reload"]);
  });

  it("is not available and arms nothing without systemd", async () => {
    const fake = await host();
    const backstop = systemdJobTimeoutBackstop({ ...base(), runtimeUnitDir: fake.temp.file("absent") });
    expect(backstop.probe()).toMatchObject({ available: false, detail: expect.stringContaining("no systemd") });
    expect(await backstop.arm(10)).toMatchObject({ ok: false });
    expect(await fake.eventNames()).toEqual([]);
  });

  it("reports a reload that fails", async () => {
    const fake = await host({ systemctl: "fail" });
    const unitDir = fake.temp.file("systemd");
    await mkdir(unitDir);
    expect(await systemdJobTimeoutBackstop({ ...base(), runtimeUnitDir: unitDir }).arm(10)).toMatchObject({
      ok: false,
      detail: expect.stringContaining("systemctl daemon-reload: exit 1"),
    });
  });
});

describe("watchdog backstop", () => {
  it("fails at once on a FIFO put in the device's place, instead of blocking until a reader comes", async () => {
    const fake = await host();
    const device = fake.temp.file("watchdog-fifo");
    expect(spawnSync("mkfifo", [device]).status).toBe(0);
    const watchdog = watchdogBackstop({ ...base(), device });
    cleanups.push(() => closeHeldDevice(watchdog.heldFd()));
    expect(await watchdog.arm(30)).toMatchObject({ ok: false, detail: expect.stringContaining(`cannot open ${device}: ENXIO`) });
  });

  it("sets the timeout with wdctl, then opens the device and never writes to it", async () => {
    const fake = await host();
    const device = fake.temp.file("watchdog0");
    await writeFile(device, "");
    const watchdog = watchdogBackstop({ ...base(), device });
    cleanups.push(() => closeHeldDevice(watchdog.heldFd()));
    expect(await watchdog.arm(125)).toEqual({ ok: true, detail: `${device} armed for 125 s and no longer kept alive` });
    expect(await fake.eventNames()).toEqual([`wdctl --settimeout 125 ${device}`]);
    expect(await readlink(`/proc/self/fd/${watchdog.heldFd()}`)).toBe(device);
    expect(await readFile(device, "utf8")).toBe("");
  });

  it("loads softdog with the deadline as its margin when the device is missing", async () => {
    const fake = await host();
    const device = fake.temp.file("watchdog");
    // A modprobe that does what loading softdog does: the device appears.
    await writeFile(`${fake.bin}/modprobe`, `#!/bin/sh\nprintf 'modprobe %s\\n' "$*" >> ${fake.eventsFile}\n: > ${device}\n`);
    await chmod(`${fake.bin}/modprobe`, 0o755);
    const watchdog = watchdogBackstop({ ...base(), device, modulesDir: fake.temp.file("none"), sysModuleDir: fake.temp.file("none") });
    cleanups.push(() => closeHeldDevice(watchdog.heldFd()));
    expect(await watchdog.arm(30)).toMatchObject({ ok: true });
    expect(await fake.eventNames()).toEqual(["modprobe softdog soft_margin=30"]);
  });

  it("says so when there is no device even after modprobe, or the device cannot be opened", async () => {
    const fake = await host();
    const missing = watchdogBackstop({ ...base(), device: fake.temp.file("none") });
    expect(await missing.arm(30)).toMatchObject({ ok: false, detail: expect.stringContaining("still no") });
    const folder = fake.temp.file("a-folder");
    await mkdir(folder);
    const unopenable = watchdogBackstop({ ...base(), device: folder });
    expect(await unopenable.arm(30)).toMatchObject({ ok: false, detail: expect.stringContaining(`cannot open ${folder}: EISDIR`) });
  });
});

describe("gracefulRebootGuarantee", () => {
  it("has no guaranteed deadline without systemd, a watchdog device or softdog, and says what is missing", async () => {
    const fake = await host();
    const guarantee = hostGracefulRebootGuarantee(
      { watchdogDevice: fake.temp.file("watchdog") },
      { runtimeUnitDir: fake.temp.file("systemd"), modulesDir: fake.temp.file("modules"), sysModuleDir: fake.temp.file("sys-module") },
    );
    expect(guarantee.guaranteed).toBe(false);
    expect(guarantee.summary).toMatch(/^graceful-reboot has NO guaranteed deadline on this host \(no systemd .*; no watchdog device .* and no softdog module\)/);
  });

  it("is guaranteed by any one layer: systemd, a device, or a softdog module that can be loaded", async () => {
    const fake = await host();
    const paths = { runtimeUnitDir: fake.temp.file("systemd"), modulesDir: fake.temp.file("modules"), sysModuleDir: fake.temp.file("sys-module") };
    const device = fake.temp.file("watchdog");
    await mkdir(`${paths.modulesDir}/kernel/drivers/watchdog`, { recursive: true });
    await writeFile(`${paths.modulesDir}/kernel/drivers/watchdog/softdog.ko.zst`, "");
    expect(hostGracefulRebootGuarantee({ watchdogDevice: device }, paths)).toMatchObject({
      guaranteed: true,
      layers: [
        { name: "systemd-job-timeout", available: false },
        { name: "watchdog", available: true, detail: expect.stringContaining("softdog module can be loaded") },
      ],
    });
    await mkdir(paths.runtimeUnitDir);
    const withSystemd = gracefulRebootGuarantee([systemdJobTimeoutBackstop({ ...base(), runtimeUnitDir: paths.runtimeUnitDir })]);
    expect(withSystemd).toMatchObject({ guaranteed: true, summary: expect.stringContaining("JobTimeoutAction=reboot-force") });
  });
});
