import type { Clock, Executor } from "@hb/core";
import { closeSync, constants, existsSync, openSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { release } from "node:os";
import { basename } from "node:path";
import { errorText, withinDeadline } from "./deadline.js";
import { describeExec } from "./syslog.js";

/**
 * A reset armed outside hb before graceful-reboot asks for the reboot. The shutdown kills every
 * process, hb included, so hb's own fallback timer cannot be the only one: a stalled shutdown
 * (sync() or unmounting a dead NFS mount) must still end in a reset.
 */
export interface RebootBackstop {
  readonly name: "systemd-job-timeout" | "watchdog";
  /** Whether it can be armed on this host, without side effects. */
  probe(): BackstopProbe;
  /** After `timeoutS` seconds the host resets, whatever happens to hb. */
  arm(timeoutS: number): Promise<BackstopResult>;
}

export interface BackstopProbe {
  readonly available: boolean;
  readonly detail: string;
}

export interface BackstopResult {
  readonly ok: boolean;
  readonly detail: string;
}

interface BackstopOptions {
  readonly executor: Executor;
  readonly clock: Clock;
  /** Deadline of each program run and file write. */
  readonly stepTimeoutMs: number;
}

export const JOB_TIMEOUT_DROP_IN = "reboot.target.d/hb-fence-deadline.conf";

/**
 * A runtime drop-in that gives `reboot.target` a job timeout with `JobTimeoutAction=reboot-force`:
 * systemd itself forces the reboot when the shutdown stalls. Lives under /run, so it vanishes
 * with the boot it was written for.
 */
export function systemdJobTimeoutBackstop(options: BackstopOptions & { readonly runtimeUnitDir?: string }): RebootBackstop {
  const unitDir = options.runtimeUnitDir ?? "/run/systemd/system";
  const dropIn = `${unitDir}/${JOB_TIMEOUT_DROP_IN}`;
  return {
    name: "systemd-job-timeout",
    probe: () => probeSystemdJobTimeout(unitDir),
    async arm(timeoutS) {
      if (!isDirectory(unitDir)) return { ok: false, detail: `no systemd (${unitDir} does not exist)` };
      const text =
        "# Written by hb before `systemctl reboot`: a shutdown that stalls is forced at this deadline.\n" +
        `[Unit]\nJobTimeoutSec=${timeoutS}\nJobTimeoutAction=reboot-force\n`;
      const write = (async () => {
        await mkdir(`${unitDir}/reboot.target.d`, { recursive: true });
        // systemd's runtime folder under /run, not a path from input; only root can write there.
        await writeFile(dropIn, text, { mode: 0o644 });
      })();
      try {
        const written = await withinDeadline(options.clock, options.stepTimeoutMs, write);
        if (!written.done) return { ok: false, detail: `${dropIn} not written within ${options.stepTimeoutMs} ms` };
      } catch (error) {
        return { ok: false, detail: `${dropIn} not written: ${errorText(error)}` };
      }
      const reload = await options.executor.run({ file: "systemctl", args: ["daemon-reload"], deadlineMs: options.stepTimeoutMs });
      if (reload.exitCode !== 0) return { ok: false, detail: `${dropIn} written, but ${describeExec("systemctl daemon-reload", reload, options.stepTimeoutMs)}` };
      return { ok: true, detail: `reboot.target forced after ${timeoutS} s (${dropIn}, daemon reloaded)` };
    },
  };
}

/**
 * A watchdog device opened and never kept alive: the host resets `timeoutS` seconds later unless
 * the reboot gets there first. A process killed during the shutdown closes the device without
 * the magic 'V', which leaves the watchdog running. The configured device, else softdog.
 */
export function watchdogBackstop(
  options: BackstopOptions & {
    readonly device: string;
    /** Where kernel modules are installed (softdog.ko*); default /lib/modules/<release>. */
    readonly modulesDir?: string;
    readonly sysModuleDir?: string;
  },
): RebootBackstop & { heldFd(): number | undefined } {
  const { device, executor, stepTimeoutMs } = options;
  const modulesDir = options.modulesDir ?? `/lib/modules/${release()}`;
  const sysModuleDir = options.sysModuleDir ?? "/sys/module";
  let held: number | undefined;
  return {
    name: "watchdog",
    heldFd: () => held,
    probe: () => probeWatchdog(device, modulesDir, sysModuleDir),
    async arm(timeoutS) {
      const notes: string[] = [];
      if (!existsSync(device)) {
        const load = await executor.run({ file: "modprobe", args: ["softdog", `soft_margin=${timeoutS}`], deadlineMs: stepTimeoutMs });
        notes.push(describeExec(`modprobe softdog soft_margin=${timeoutS}`, load, stepTimeoutMs));
        if (!existsSync(device)) return { ok: false, detail: `${notes.join("; ")}; still no ${device}` };
      } else {
        // Node has no ioctl(WDIOC_SETTIMEOUT): wdctl sets it (and closes the device with the magic 'V').
        const set = await executor.run({ file: "wdctl", args: ["--settimeout", String(timeoutS), device], deadlineMs: stepTimeoutMs });
        if (set.exitCode !== 0) notes.push(`${describeExec(`wdctl --settimeout ${timeoutS}`, set, stepTimeoutMs)}; the device keeps its own timeout${deviceTimeout(device)}`);
      }
      try {
        // Synchronous: opening arms the watchdog, and must not wait behind a stuck libuv pool.
        // O_NONBLOCK: a FIFO in the device's place fails at once (ENXIO) instead of blocking this
        // thread, which would stop the graceful-reboot deadline's own fallback to sysrq b.
        held = openSync(device, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
      } catch (error) {
        const busy = (error as NodeJS.ErrnoException).code === "EBUSY" ? " (held by another process: systemd's RuntimeWatchdogSec or hbd's keepalive?)" : "";
        return { ok: false, detail: [...notes, `cannot open ${device}: ${errorText(error)}${busy}`].join("; ") };
      }
      return { ok: true, detail: [...notes, `${device} armed for ${timeoutS} s and no longer kept alive`].join("; ") };
    },
  };
}

/** Closes a device armed by a backstop, without the magic 'V' (it stays armed). Tests use it. */
export function closeHeldDevice(fd: number | undefined): void {
  if (fd !== undefined) closeSync(fd);
}

function probeSystemdJobTimeout(unitDir: string): BackstopProbe {
  // sd_booted(): systemd is PID 1 when this folder exists.
  return isDirectory(unitDir)
    ? { available: true, detail: `systemd is running: a reboot.target drop-in forces the reboot at its deadline (JobTimeoutAction=reboot-force)` }
    : { available: false, detail: `no systemd (${unitDir} does not exist)` };
}

function probeWatchdog(device: string, modulesDir: string, sysModuleDir: string): BackstopProbe {
  if (existsSync(device)) return { available: true, detail: `watchdog device ${device}` };
  if (existsSync(`${sysModuleDir}/softdog`) || hasSoftdogModule(modulesDir)) return { available: true, detail: `no ${device}, but the softdog module can be loaded` };
  return { available: false, detail: `no watchdog device (${device}) and no softdog module` };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function hasSoftdogModule(modulesDir: string): boolean {
  const folder = `${modulesDir}/kernel/drivers/watchdog`;
  try {
    return readdirSync(folder).some((name) => name.startsWith("softdog.ko"));
  } catch {
    return false;
  }
}

function deviceTimeout(device: string): string {
  for (const name of [basename(device), "watchdog0"]) {
    try {
      // sysfs, served by the kernel: a few bytes, never a FIFO.
      return ` (${readFileSync(`/sys/class/watchdog/${name}/timeout`, "latin1").trim()} s)`;
    } catch {
      // Not every device is in sysfs under its own name.
    }
  }
  return "";
}

export interface GracefulRebootGuarantee {
  /** Something outside hb resets the host when graceful-reboot's shutdown stalls. */
  readonly guaranteed: boolean;
  readonly layers: readonly { readonly name: RebootBackstop["name"]; readonly available: boolean; readonly detail: string }[];
  readonly summary: string;
}

/**
 * Whether graceful-reboot has a guaranteed deadline on this host, for `hb timing explain` and
 * hbd's start-up summary. hb's own timer only works while hb lives; the shutdown kills it.
 */
export function gracefulRebootGuarantee(backstops: readonly RebootBackstop[]): GracefulRebootGuarantee {
  const layers = backstops.map((backstop) => ({ name: backstop.name, ...backstop.probe() }));
  const available = layers.filter((layer) => layer.available);
  const summary =
    available.length > 0
      ? `graceful-reboot has a guaranteed deadline: ${available.map((layer) => layer.detail).join("; ")}`
      : `graceful-reboot has NO guaranteed deadline on this host (${layers.map((layer) => layer.detail).join("; ")}): ` +
        "if the shutdown stalls after hb has been stopped, nothing resets the host";
  return { guaranteed: available.length > 0, layers, summary };
}

/** Where the probes look; defaults are the host's own paths. */
export interface HostPaths {
  readonly runtimeUnitDir?: string;
  readonly modulesDir?: string;
  readonly sysModuleDir?: string;
}

/** gracefulRebootGuarantee for this host's default backstops, from the settings alone. */
export function hostGracefulRebootGuarantee(settings: { readonly watchdogDevice: string }, paths: HostPaths = {}): GracefulRebootGuarantee {
  const probes: RebootBackstop[] = [
    { name: "systemd-job-timeout", probe: () => probeSystemdJobTimeout(paths.runtimeUnitDir ?? "/run/systemd/system"), arm: notArmedHere },
    {
      name: "watchdog",
      probe: () => probeWatchdog(settings.watchdogDevice, paths.modulesDir ?? `/lib/modules/${release()}`, paths.sysModuleDir ?? "/sys/module"),
      arm: notArmedHere,
    },
  ];
  return gracefulRebootGuarantee(probes);
}

async function notArmedHere(): Promise<BackstopResult> {
  return { ok: false, detail: "a probe only" };
}
