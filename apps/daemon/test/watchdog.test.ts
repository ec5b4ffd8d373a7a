import { mkdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { ProcessExecutor } from "@hb/core";
import { deviceWatchdog, systemdWatchdog } from "../src/watchdog.js";

const temp = await makeTempDir("hbd-wd-");
afterAll(() => temp.remove());

describe("watchdog, device mode (a file stands in for /dev/watchdog)", () => {
  it("reads the timeout from sysfs, writes keepalives only once armed, and closes with the magic V", async () => {
    const device = temp.file("watchdog1");
    await writeFile(device, "");
    await mkdir(temp.file("sys/watchdog1"), { recursive: true });
    await writeFile(temp.file("sys/watchdog1/timeout"), "30\n");
    const watchdog = deviceWatchdog({ device, sysClassDir: temp.file("sys") });
    expect(watchdog.timeoutSeconds).toBe(30);
    expect(watchdog.keepaliveIntervalMs).toBe(10_000);
    await watchdog.keepalive(); // not armed: nothing written
    expect(await readFile(device, "utf8")).toBe("");
    watchdog.arm();
    await watchdog.keepalive();
    await watchdog.keepalive();
    await watchdog.disarm();
    expect(await readFile(device, "utf8")).toBe("kkV");
  });

  it("names the missing sysfs timeout instead of guessing one", () => {
    expect(() => deviceWatchdog({ device: temp.file("nodev"), sysClassDir: temp.file("nosys") })).toThrow(/cannot read the watchdog timeout/);
  });

  it("says why it cannot open the device", () => {
    const watchdog = deviceWatchdog({ device: temp.file("missing/dir/watchdog"), sysClassDir: temp.path, timeoutSeconds: 10 });
    expect(() => watchdog.arm()).toThrow(/cannot open .*ENOENT/);
  });
});

describe("watchdog, systemd mode", () => {
  it("refuses to run without WATCHDOG_USEC", () => {
    expect(() => systemdWatchdog(undefined, new ProcessExecutor())).toThrow(/WATCHDOG_USEC is not set/);
  });

  it("keeps alive every half of WATCHDOG_USEC", () => {
    expect(systemdWatchdog("20000000", new ProcessExecutor())).toMatchObject({ timeoutSeconds: 20, keepaliveIntervalMs: 10_000 });
  });
});
