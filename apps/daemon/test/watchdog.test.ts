import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { ProcessExecutor, SystemClock } from "@hb/core";
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

  it("refuses a FIFO planted as the sysfs timeout, naming it, instead of waiting on it", async () => {
    await mkdir(temp.file("fifo-sys/watchdog2"), { recursive: true });
    expect(spawnSync("mkfifo", [temp.file("fifo-sys/watchdog2/timeout")]).status).toBe(0);
    expect(() => deviceWatchdog({ device: temp.file("watchdog2"), sysClassDir: temp.file("fifo-sys") })).toThrow(/cannot read the watchdog timeout from \S+timeout: .*FIFO/);
    await mkdir(temp.file("sys/watchdog3"), { recursive: true });
    await writeFile(temp.file("sys/watchdog3/timeout"), "soon\n");
    expect(() => deviceWatchdog({ device: temp.file("watchdog3"), sysClassDir: temp.file("sys") })).toThrow('"soon" is no number of seconds');
  });

  it("refuses a FIFO as the device at once, and never creates a missing device", () => {
    const fifo = temp.file("fifo-watchdog");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    expect(() => deviceWatchdog({ device: fifo, sysClassDir: temp.path, timeoutSeconds: 10 }).arm()).toThrow(/cannot open \S+fifo-watchdog: ENXIO/);
    const missing = temp.file("watchdog-missing");
    expect(() => deviceWatchdog({ device: missing, sysClassDir: temp.path, timeoutSeconds: 10 }).arm()).toThrow(/cannot open \S+watchdog-missing: ENOENT/);
    expect(existsSync(missing)).toBe(false);
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

describe("hbd's keepalives", () => {
  it("are written while the loop runs, withheld right after the event loop was stuck, and end with the magic V", async () => {
    const { Daemon } = await import("../src/daemon.js");
    const { fakeDaemonDeps } = await import("./fake-deps.js");
    const device = temp.file("keepalive-device");
    await writeFile(device, "");
    await mkdir(temp.file("sys2/keepalive-device"), { recursive: true });
    await writeFile(temp.file("sys2/keepalive-device/timeout"), "3\n"); // keepalive every second
    const file = temp.file("wd.properties");
    await writeFile(
      file,
      [
        "heartbeat.update.timeout=3000",
        "kvm.heartbeat.update.frequency=500",
        `hb.state.dir=${temp.file("wd-state")}`,
        "hb.status.listen=127.0.0.1:0",
        "hb.pools=linstor:drbd",
        "hb.watchdog=device",
        `hb.watchdog.device=${device}`,
      ].join("\n"),
    );
    const daemon = new Daemon(
      { propertiesPath: file },
      // Real time: the stall below is the event loop's own.
      fakeDaemonDeps({ sysClassWatchdog: temp.file("sys2"), clock: new SystemClock() }),
    );
    await daemon.start();
    const size = async () => (await readFile(device, "utf8")).length;
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    while ((await size()) < 2) await wait(100);
    // Stall the event loop for longer than a keepalive interval, as a hung hbd would.
    const blockedUntil = performance.now() + 1_600;
    while (performance.now() < blockedUntil) {
      // busy: no timer can run
    }
    const afterStall = await size();
    await wait(300); // the overdue tick runs now, late: it must not write
    expect(await size()).toBe(afterStall);
    while ((await size()) === afterStall) await wait(100); // the next tick on time writes again
    await daemon.stop();
    const written = await readFile(device, "utf8");
    expect(written).toMatch(/^k+V$/);
  }, 30_000);
});
