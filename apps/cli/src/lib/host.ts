// hb doctor's look at the host: NFS pools' mount options against the timing model, sysrq, the
// watchdog device, and the agent's script folder. Every input is a file named by a setting
// (hb.mounts.file, hb.sysrq.file, hb.fence.sysrq.trigger, hb.watchdog.device, kvm.scripts.dir),
// so a test describes a host of its own. Nothing here opens a device or touches shared storage:
// the mount table is procfs, everything else is a stat.
import { formatSeconds, parseDeclaredPools, readLocalFile, type HostCheckSettings, type TimingModel } from "@hb/config";
import { isNfsType, readMountTable, type MountEntry } from "@hb/storage-nfs";
import { lstat, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";

/** How long a write may block on an NFS mount, from its effective options. */
export interface NfsPoolCheck {
  readonly mountPoint: string;
  readonly source: string;
  readonly type: string;
  /** `vers=` as the kernel shows it; null when it does not. */
  readonly vers: string | null;
  readonly mode: "hard" | "soft";
  readonly proto: string;
  /** `timeo=`, in tenths of a second (the kernel's default when not shown). */
  readonly timeo: number;
  readonly retrans: number;
  /** When a soft mount may first give up with EIO: timeo × (retrans + 1). null: never (hard). */
  readonly giveUpEarliestMs: number | null;
  /** The longest a write can block: null when unbounded (hard: until the server answers). */
  readonly worstCaseBlockMs: number | null;
  /** How worstCaseBlockMs is known: from the options (nfs(5)), or raised to what was measured on NFSv4. */
  readonly basis: "options" | "measured";
  readonly note: string | null;
  readonly problems: readonly string[];
}

export interface SysrqCheck {
  readonly file: string;
  /** The value of kernel.sysrq; null when it cannot be read. */
  readonly value: number | null;
  readonly allowsReboot: boolean;
  readonly allowsSync: boolean;
  readonly trigger: { readonly path: string; readonly exists: boolean };
  readonly error: string | null;
  readonly problems: readonly string[];
}

export interface WatchdogCheck {
  readonly mode: HostCheckSettings["watchdog"];
  readonly device: string;
  /** What is at the device path (stat only: opening a watchdog device arms it). */
  readonly found: "character device" | "missing" | "other" | null;
  /** The device's timeout from sysfs; null when unknown. */
  readonly timeoutSeconds: number | null;
  readonly problems: readonly string[];
}

export interface ScriptFolderCheck {
  /** kvm.scripts.dir as set. */
  readonly setting: string;
  /** Where the agent looks, in its order. */
  readonly candidates: readonly string[];
  /** The first candidate that holds kvmheartbeat.sh; null when none does (no agent installed here). */
  readonly agentDir: string | null;
  /** The folder hb doctor inspects (--dir, else agentDir or the last candidate). */
  readonly dir: string;
  readonly matches: boolean | null;
  readonly problems: readonly string[];
}

export interface HostReport {
  readonly nfs: { readonly mountsFile: string; readonly error: string | null; readonly pools: readonly NfsPoolCheck[] };
  readonly sysrq: SysrqCheck;
  readonly watchdog: WatchdogCheck;
  readonly scripts: ScriptFolderCheck;
}

// nfs(5): TCP defaults to timeo=600 (60 s) and retrans=2; UDP to timeo=11 and retrans=3. Over
// TCP each retransmission waits timeo longer than the one before (linear backoff, at most
// 600 s); over UDP the wait doubles, at most 60 s.
const TCP_TIMEO = 600;
const UDP_TIMEO = 11;
const TCP_MAX_WAIT_MS = 600_000;
const UDP_MAX_WAIT_MS = 60_000;

/**
 * NFSv4 soft mounts do not follow timeo × retrans: measured on a 4.1 mount, EIO came after
 * 93–100 s for timeo=10,retrans=2 and timeo=50,retrans=1 alike (the client's state recovery
 * retries on its own). hb takes the longer of the formula and this.
 */
export const NFS4_SOFT_MEASURED_MS = 100_000;

function optionMap(options: readonly string[]): Map<string, string> {
  const map = new Map<string, string>();
  for (const option of options) {
    const eq = option.indexOf("=");
    map.set(eq < 0 ? option : option.slice(0, eq), eq < 0 ? "" : option.slice(eq + 1));
  }
  return map;
}

const wholeOr = (text: string | undefined, fallback: number) => (text !== undefined && /^\d+$/.test(text) ? Number(text) : fallback);

/** The waits of one request: the first transmission and each retransmission. */
function waitsMs(timeo: number, retrans: number, udp: boolean): number[] {
  const waits: number[] = [];
  for (let k = 0; k <= retrans; k++) waits.push(udp ? Math.min(timeo * 100 * 2 ** k, UDP_MAX_WAIT_MS) : Math.min(timeo * 100 * (k + 1), TCP_MAX_WAIT_MS));
  return waits;
}

/** The timeo (tenths of a second) at which a soft mount with this retrans gives up no earlier than `ms`. */
function timeoFor(ms: number, retrans: number): number {
  return Math.ceil(ms / 100 / (retrans + 1));
}

/** One NFS mount against the timing model: a soft mount must outlast an attempt, and no write may outlast the decision. */
export function checkNfsMount(entry: MountEntry, timing: TimingModel): NfsPoolCheck {
  const s = formatSeconds;
  const options = optionMap(entry.options);
  const mode = options.has("soft") || options.has("softerr") ? "soft" : "hard";
  const proto = options.get("proto") ?? "tcp";
  const udp = proto.startsWith("udp");
  const timeo = wholeOr(options.get("timeo"), udp ? UDP_TIMEO : TCP_TIMEO);
  const retrans = wholeOr(options.get("retrans"), udp ? 3 : 2);
  const vers = options.get("vers") ?? options.get("nfsvers") ?? (entry.type === "nfs4" ? "4" : null);
  const v4 = vers?.startsWith("4") ?? false;
  const attemptMs = timing.attemptDeadlineMs;
  const decisionMs = timing.decisionLatestMs;
  const problems: string[] = [];
  const where = `NFS pool ${entry.target} (${entry.source})`;
  if (mode === "hard") {
    // CloudStack mounts primary storage hard, and it must: a soft mount hands qemu EIO and corrupts
    // the VMs' disks. hb never waits on such a write itself (each attempt is a child cut at its
    // deadline), so a hard mount is said, not flagged.
    const note =
      `mounted hard: a write blocks for as long as the server is away; hb's attempts are cut at heartbeat.update.timeout (${s(attemptMs)}) ` +
      `and the decision comes within the decision bound (${s(decisionMs)} after the last good heartbeat), while the VMs' own writes wait for the server or the fence`;
    return { mountPoint: entry.target, source: entry.source, type: entry.type, vers, mode, proto, timeo, retrans, giveUpEarliestMs: null, worstCaseBlockMs: null, basis: "options", note, problems };
  }
  const waits = waitsMs(timeo, retrans, udp);
  const giveUpEarliestMs = timeo * 100 * (retrans + 1);
  const formulaWorstMs = waits.reduce((sum, wait) => sum + wait, 0);
  const worstCaseBlockMs = v4 ? Math.max(formulaWorstMs, NFS4_SOFT_MEASURED_MS) : formulaWorstMs;
  const note = v4
    ? `NFSv${vers ?? "4"}: the kernel was measured to return EIO only after 93–100 s on a 4.1 soft mount, whatever timeo and retrans said; the options ask for ${s(giveUpEarliestMs)}–${s(formulaWorstMs)}, and hb assumes up to ${s(worstCaseBlockMs)}`
    : null;
  if (giveUpEarliestMs < attemptMs) {
    const fixed = timeoFor(attemptMs, retrans);
    problems.push(
      `${where} is soft with timeo=${timeo},retrans=${retrans}: a write may fail with EIO after ${s(giveUpEarliestMs)}, before heartbeat.update.timeout (${s(attemptMs)}), ` +
        `so a stall that an attempt would ride out fails the try instead${v4 ? " (on NFSv4 the kernel was measured to wait longer, ~95 s, but the options ask for this)" : ""}; ` +
        `fix: timeo=${fixed} (timeo × (retrans + 1) ≥ heartbeat.update.timeout), or lower heartbeat.update.timeout to ${s(giveUpEarliestMs)}`,
    );
  }
  if (worstCaseBlockMs > decisionMs) {
    problems.push(
      `${where}: a write may block for up to ${s(worstCaseBlockMs)}${v4 ? " (NFSv4, measured)" : ` (timeo=${timeo},retrans=${retrans}, ${udp ? "doubling" : "linear"} backoff)`}, past the decision bound (${s(decisionMs)}): ` +
        `the host's writes are still pending when hb decides; fix: lower timeo or retrans so that the waits (${waits.map((wait) => s(wait)).join(" + ")}) end before ${s(decisionMs)}`,
    );
  }
  return { mountPoint: entry.target, source: entry.source, type: entry.type, vers, mode, proto, timeo, retrans, giveUpEarliestMs, worstCaseBlockMs, basis: worstCaseBlockMs > formulaWorstMs ? "measured" : "options", note, problems };
}

/** The NFS mounts that are pools: under mount.path (the agent's /mnt/<uuid>) or declared in hb.pools. */
function poolMounts(entries: readonly MountEntry[], settings: HostCheckSettings): MountEntry[] {
  const base = `${settings.mountPath.replace(/\/+$/, "")}/`;
  const declared = new Set(parseDeclaredPools(settings.declaredPools).pools.flatMap((pool) => (pool.kind === "nfs" ? [pool.mountPoint] : [])));
  const byTarget = new Map<string, MountEntry>();
  // The last entry of a path is the one on top.
  for (const entry of entries) if (isNfsType(entry.type) && (entry.target.startsWith(base) || declared.has(entry.target))) byTarget.set(entry.target, entry);
  return [...byTarget.values()];
}

const SYSRQ_SYNC = 16;
const SYSRQ_REBOOT = 128;
// A sysctl file holds one short number.
const SYSRQ_MAX_BYTES = 64;

/**
 * kernel.sysrq: 1 allows every function, 0 none, anything else is a mask (16 sync, 128 reboot).
 * The kernel documents that root's writes to /proc/sysrq-trigger are allowed whatever the mask;
 * the mask still rules the console's SysRq, the operator's own reset of a wedged host.
 */
export async function checkSysrq(settings: HostCheckSettings): Promise<SysrqCheck> {
  const { sysrqFile: file, sysrqTrigger: triggerPath } = settings;
  const exists = await stat(triggerPath).then(
    () => true,
    () => false,
  );
  let value: number | null = null;
  let error: string | null = null;
  try {
    const text = (await readLocalFile(file, { maxBytes: SYSRQ_MAX_BYTES, followLinks: true })).toString("latin1").trim();
    if (/^\d+$/.test(text)) value = Number(text);
    else error = `${file} holds ${JSON.stringify(text.slice(0, 20))}, not a number`;
  } catch (caught) {
    error = (caught as Error).message;
  }
  const allows = (bit: number) => value === 1 || (value !== null && (value & bit) !== 0);
  const check = { file, value, allowsReboot: allows(SYSRQ_REBOOT), allowsSync: allows(SYSRQ_SYNC), trigger: { path: triggerPath, exists }, error };
  const problems: string[] = [];
  const action = settings.fenceAction;
  // restart-agent and log-only never reset; every other action ends in sysrq b when it must.
  if (action !== "restart-agent" && action !== "log-only") {
    if (!exists) problems.push(`${triggerPath} does not exist (a kernel without CONFIG_MAGIC_SYSRQ?): the reset that ${action} ends in cannot happen`);
    if (error !== null) problems.push(`sysrq: ${error}`);
    else if (!check.allowsReboot || !check.allowsSync) {
      const missing = [check.allowsReboot ? null : "reboot (128)", check.allowsSync ? null : "sync (16)"].filter((word) => word !== null).join(" and ");
      const wanted = value === 0 ? 1 : (value ?? 0) | SYSRQ_REBOOT | SYSRQ_SYNC;
      problems.push(
        `kernel.sysrq=${value ?? "?"} does not allow ${missing}, which the reset uses (s, then b). Root's writes to the trigger are allowed whatever this value, ` +
          `but the console's SysRq follows it and a host locked down this way may refuse more; fix: sysctl -w kernel.sysrq=${wanted} (and in /etc/sysctl.d)`,
      );
    }
  }
  return { ...check, problems };
}

// A sysfs attribute reports a size of one page, whatever it holds.
const SYSFS_MAX_BYTES = 4096;

/**
 * hb.watchdog=device: the device is looked at with lstat only, never opened. Opening a watchdog
 * device starts it, and only a write of the magic 'V' before close stops it again — not at all
 * with nowayout — so a check that opened it could reset the host it checks.
 */
export async function checkWatchdog(settings: HostCheckSettings, sysClassDir = "/sys/class/watchdog"): Promise<WatchdogCheck> {
  const { watchdog: mode, watchdogDevice: device } = settings;
  if (mode !== "device") return { mode, device, found: null, timeoutSeconds: null, problems: [] };
  const info = await lstat(device).catch(() => null);
  const found = info === null ? "missing" : info.isCharacterDevice() ? "character device" : "other";
  const problems: string[] = [];
  if (found === "missing") problems.push(`hb.watchdog=device but ${device} does not exist: hbd cannot start its watchdog (load a driver, e.g. modprobe softdog, or set hb.watchdog.device)`);
  else if (found === "other") problems.push(`hb.watchdog=device but ${device} is not a character device: hbd refuses it`);
  else if (((info?.mode ?? 0) & 0o200) === 0) problems.push(`hb.watchdog=device but ${device} is not writable by its owner (mode 0${((info?.mode ?? 0) & 0o7777).toString(8)}): hbd cannot send keepalives`);
  const name = basename(device) === "watchdog" ? "watchdog0" : basename(device);
  let timeoutSeconds: number | null = null;
  if (found === "character device") {
    const text = await readLocalFile(join(sysClassDir, name, "timeout"), { maxBytes: SYSFS_MAX_BYTES }).then(
      (bytes) => bytes.toString("latin1").trim(),
      () => "",
    );
    timeoutSeconds = /^\d+$/.test(text) && Number(text) > 0 ? Number(text) : null;
  }
  return { mode, device, found, timeoutSeconds, problems };
}

const AGENT_LIB = "/usr/share/cloudstack-agent/lib";
const AGENT_COMMON = "/usr/share/cloudstack-common";
const HEARTBEAT_SCRIPT = "kvmheartbeat.sh";

/** Where the agent's Script.findScript looks for kvm.scripts.dir: an absolute path as it is; else under the agent's lib, then cloudstack-common. */
export function agentScriptCandidates(setting: string): string[] {
  const clean = setting.replace(/\/+$/, "") || "/";
  return clean.startsWith("/") ? [clean] : [join(AGENT_LIB, clean), join(AGENT_COMMON, clean)];
}

/** The folder the agent runs its heartbeat scripts from, against the one hb doctor (and so the shims) looks at. */
export async function checkScriptFolder(settings: HostCheckSettings, dirOption: string | undefined): Promise<ScriptFolderCheck> {
  const setting = settings.scriptsDir;
  const candidates = agentScriptCandidates(setting);
  let agentDir: string | null = null;
  for (const candidate of candidates) {
    const found = await stat(join(candidate, HEARTBEAT_SCRIPT)).then(
      (info) => info.isFile(),
      () => false,
    );
    if (found) {
      agentDir = candidate;
      break;
    }
  }
  const dir = resolve(dirOption ?? agentDir ?? candidates.at(-1) ?? AGENT_COMMON);
  const matches = agentDir === null ? null : resolve(agentDir) === dir;
  const problems =
    matches === false
      ? [`the agent runs its heartbeat scripts from ${agentDir ?? "?"} (kvm.scripts.dir=${setting}), not from ${dir}: shims in ${dir} are never run (pass --dir ${agentDir ?? "?"}, or install the shims there)`]
      : [];
  return { setting, candidates, agentDir, dir, matches, problems };
}

export async function checkNfsPools(settings: HostCheckSettings, timing: TimingModel): Promise<HostReport["nfs"]> {
  const { mountsFile } = settings;
  try {
    const entries = await readMountTable(mountsFile);
    return { mountsFile, error: null, pools: poolMounts(entries, settings).map((entry) => checkNfsMount(entry, timing)) };
  } catch (error) {
    return { mountsFile, error: (error as Error).message, pools: [] };
  }
}
