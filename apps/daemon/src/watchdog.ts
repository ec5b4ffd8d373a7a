import { closeSync, constants, openSync, writeSync } from "node:fs";
import { basename, join } from "node:path";
import type { Executor } from "@hb/core";
import { HbError, type WatchdogMode } from "@hb/config";
import { readLocalFileSync } from "@hb/config/files";

export class WatchdogError extends HbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("WATCHDOG", message, options);
  }
}

/**
 * A backstop that resets the host when hbd stops proving it is alive (lesson L1). Keepalives
 * are sent only while the loop is healthy; a hung loop or a dead process sends none, and the
 * reset happens without any of our code running.
 */
export interface Watchdog {
  readonly mode: WatchdogMode;
  /** Seconds without a keepalive before the reset; null when unprotected. */
  readonly timeoutSeconds: number | null;
  /** How often keepalives are due. */
  readonly keepaliveIntervalMs: number | null;
  /** Start protecting (after the first good round). */
  arm(): void;
  keepalive(): Promise<void>;
  /** Clean stop: disarm (magic close for a device). */
  disarm(): Promise<void>;
  /** Let go without disarming: a device keeps counting down and resets the host. */
  abandon(): void;
  describe(): string;
}

export const noWatchdog: Watchdog = {
  mode: "none",
  timeoutSeconds: null,
  keepaliveIntervalMs: null,
  arm: () => undefined,
  keepalive: async () => undefined,
  disarm: async () => undefined,
  abandon: () => undefined,
  describe: () => "hb.watchdog=none: UNPROTECTED — a hung hbd or host is not reset by a watchdog",
};

export interface DeviceWatchdogOptions {
  readonly device: string;
  /** Where the kernel exposes watchdog attributes (/sys/class/watchdog). */
  readonly sysClassDir: string;
  /** Overrides the timeout read from sysfs (a plain file standing in for the device has none). */
  readonly timeoutSeconds?: number;
}

/**
 * `/dev/watchdog`: any write is a keepalive; writing `V` before close disarms it (magic close).
 * Writes are synchronous on the main thread, never through the libuv pool, which dead storage
 * can exhaust. Node has no ioctl, so the timeout comes from sysfs.
 */
export function deviceWatchdog(options: DeviceWatchdogOptions): Watchdog {
  const timeoutSeconds = options.timeoutSeconds ?? readSysfsTimeout(options);
  let fd: number | undefined;
  return {
    mode: "device",
    timeoutSeconds,
    keepaliveIntervalMs: Math.max(200, Math.floor((timeoutSeconds * 1000) / 3)),
    arm() {
      if (fd !== undefined) return;
      try {
        // No O_CREAT: a missing device is an error, never a new file in /dev. O_NONBLOCK: a FIFO
        // in the device's place fails at once (ENXIO) instead of blocking hbd's only thread.
        fd = openSync(options.device, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const hint = code === "EBUSY" ? " (already open: PID 1 may hold it through RuntimeWatchdogSec=; use hb.watchdog=systemd)" : "";
        throw new WatchdogError(`cannot open ${options.device}: ${code ?? (error as Error).message}${hint}`, { cause: error });
      }
    },
    async keepalive() {
      if (fd !== undefined) writeSync(fd, "k");
    },
    async disarm() {
      if (fd === undefined) return;
      writeSync(fd, "V");
      closeSync(fd);
      fd = undefined;
    },
    abandon() {
      // Closed without the magic V: the kernel logs "watchdog did not stop!" and keeps counting.
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
    describe: () => `hb.watchdog=device: ${options.device}, reset after ${timeoutSeconds} s without keepalive`,
  };
}

// A sysfs attribute reports a size of one page, whatever it holds.
const SYSFS_ATTRIBUTE_MAX_BYTES = 4096;

function readSysfsTimeout(options: DeviceWatchdogOptions): number {
  const name = basename(options.device) === "watchdog" ? "watchdog0" : basename(options.device);
  const path = join(options.sysClassDir, name, "timeout");
  // The device's name comes from hb.watchdog.device: only a regular attribute file is read (a
  // FIFO there would block start-up). The class folder's own links are followed (the last
  // component, `timeout`, is never one).
  let text: string;
  try {
    text = readLocalFileSync(path, { maxBytes: SYSFS_ATTRIBUTE_MAX_BYTES }).toString("utf8");
  } catch (error) {
    throw new WatchdogError(`cannot read the watchdog timeout from ${path}: ${(error as Error).message}`, { cause: error });
  }
  const seconds = Number(text.trim());
  if (Number.isInteger(seconds) && seconds > 0) return seconds;
  throw new WatchdogError(`cannot read the watchdog timeout from ${path}: ${JSON.stringify(text.trim().slice(0, 40))} is no number of seconds`);
}

/**
 * systemd's service watchdog: `WATCHDOG=1` every half of `WATCHDOG_USEC`, sent with
 * `systemd-notify` (Node cannot write to the notify datagram socket; the unit needs
 * NotifyAccess=all). The unit's WatchdogSec= with FailureAction=reboot resets the host.
 */
export function systemdWatchdog(watchdogUsec: string | undefined, executor: Executor): Watchdog {
  const usec = Number(watchdogUsec);
  if (!Number.isFinite(usec) || usec <= 0) throw new WatchdogError("hb.watchdog=systemd but WATCHDOG_USEC is not set: run hbd from its unit with WatchdogSec=");
  const timeoutSeconds = usec / 1_000_000;
  const notify = async (state: string) => {
    const result = await executor.run({ file: "systemd-notify", args: [state], deadlineMs: Math.max(500, (usec / 1000) / 4) });
    if (result.exitCode !== 0) throw new WatchdogError(`systemd-notify ${state} failed: ${result.timedOut ? "timed out" : result.stderr.trim()}`);
  };
  let armed = false;
  return {
    mode: "systemd",
    timeoutSeconds,
    keepaliveIntervalMs: Math.max(200, Math.floor(usec / 1000 / 2)),
    arm: () => void (armed = true),
    keepalive: async () => {
      if (armed) await notify("WATCHDOG=1");
    },
    disarm: async () => {
      armed = false;
    },
    abandon: () => {
      armed = false;
    },
    describe: () => `hb.watchdog=systemd: reset by systemd after ${timeoutSeconds} s without keepalive`,
  };
}
