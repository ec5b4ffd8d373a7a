// zod/mini: the same schemas at a fraction of the start-up cost of classic zod (hb is a CLI the
// agent starts for every heartbeat).
import * as z from "zod/mini";
import { statusListenProblem } from "./listen.js";

/** The fence actions hb knows, by upstream's current names (PR #13090). */
export const FENCE_ACTIONS = ["hard-reboot", "graceful-reboot", "restart-agent", "log-only", "custom"] as const;
export type FenceActionName = (typeof FENCE_ACTIONS)[number];

/** Older names still accepted: `reboot` is upstream's first name of hard-reboot, kept as its alias. */
export const FENCE_ACTION_ALIASES: Readonly<Record<string, FenceActionName>> = { reboot: "hard-reboot" };

/** A fence action by name or alias, trimmed; undefined when unknown. */
export function parseFenceAction(value: string): FenceActionName | undefined {
  const name = value.trim();
  if ((FENCE_ACTIONS as readonly string[]).includes(name)) return name as FenceActionName;
  return Object.hasOwn(FENCE_ACTION_ALIASES, name) ? FENCE_ACTION_ALIASES[name] : undefined;
}

/** Which dead targets fence the host: any one (upstream), or only all of them together. */
export const FENCE_SCOPES = ["any", "all"] as const;
export type FenceScope = (typeof FENCE_SCOPES)[number];

/** What `-c` verifies before it fences. */
export const FENCE_VERIFY_MODES = ["drbd-quorum", "none", "storage"] as const;
export type FenceVerifyMode = (typeof FENCE_VERIFY_MODES)[number];

/** hbd's watchdog backstop. */
export const WATCHDOG_MODES = ["none", "systemd", "device"] as const;
export type WatchdogMode = (typeof WATCHDOG_MODES)[number];

/**
 * Actions that take the host down. The others leave VMs running (DESIGN rule 8). `custom` runs
 * the operator's script, which hb cannot see into: it fences only when the operator says so
 * (`hb.fence.custom.fences`, passed here as `customFences`).
 */
export function isFencingAction(action: FenceActionName, customFences = false): boolean {
  return action === "hard-reboot" || action === "graceful-reboot" || (action === "custom" && customFences);
}

type Unit = "ms" | "s" | "count" | "ratio" | "boolean" | "enum" | "path" | "string";

export interface PropertySpec<T> {
  readonly key: string;
  readonly unit: Unit;
  /** Effective value when the key is absent, blank or invalid. `null`: no default. */
  readonly defaultValue: T;
  readonly description: string;
  /** Parses the raw string (already known to be non-blank). */
  readonly schema: z.ZodMiniType<T, string>;
  /** Accepted, but read differently by the CloudStack agent: a warning to show. */
  readonly agentDifference?: (raw: string) => string | undefined;
  /**
   * Ceiling of a number, in `unit`: the largest value hb takes. For a duration it is never more
   * than a timer holds (TIMER_MAX_MS). Past it the value is unusable and the default applies.
   */
  readonly max?: number;
  /** Why the ceiling is where it is (documentation, and the problem's message). */
  readonly maxReason?: string;
  /**
   * Why hb cannot use the raw value at all, whatever else it means (past the ceiling, a control
   * character): such a value is a problem of kind `unusable`, and `hb config set` refuses it even
   * with --force.
   */
  readonly unusable?: (raw: string) => string | undefined;
}

/**
 * The longest wait a Node timer holds (2^31−1 ms, about 24.8 days). setTimeout with more fires
 * after 1 ms, with a warning: a deadline becomes an instant failure, a pause a hot loop.
 */
export const TIMER_MAX_MS = 2_147_483_647;

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
const DAY_MS = 24 * HOUR_MS;

// Values as they come out of java.util.Properties can hold any character (\u0000, \n, \t...);
// none of them names a file, a unit, a device or a host (Node refuses a path with NUL outright).
// A tab is kept in plain strings: hbd reads blanks around each hb.pools entry.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER_OR_TAB = /[\u0000-\u001f\u007f]/;

function controlCharacterIn(raw: string, tabToo: boolean): string | undefined {
  const match = (tabToo ? CONTROL_CHARACTER_OR_TAB : CONTROL_CHARACTER).exec(raw.trim());
  if (match === null) return undefined;
  const code = match[0].charCodeAt(0).toString(16).padStart(4, "0");
  return `holds a control character (\\u${code}) at position ${match.index + 1}, which no file, device or name can hold`;
}

function ceilingProblem(raw: string, max: number, unit: Unit, reason: string, javaInt: boolean): string | undefined {
  const text = raw.trim();
  if (!/^[+-]?\d+$/.test(text)) return undefined;
  const value = Number(text);
  const ms = unit === "s" ? value * 1000 : value;
  if ((unit === "ms" || unit === "s") && ms > TIMER_MAX_MS) {
    const limit = unit === "s" ? `${Math.floor(TIMER_MAX_MS / 1000)} s` : `${TIMER_MAX_MS} ms`;
    return `too large: more than ${limit}, the longest wait a timer can hold${javaInt ? ", and more than the agent (a Java int) can read" : ""}`;
  }
  if (value > max) return `too large: at most ${max}${unit === "count" ? "" : ` ${unit}`} (${reason})`;
  return undefined;
}

// commons-beanutils' number converters trim and accept an optional sign; anything else
// (decimals, units, hex) is invalid and falls back to the default.
const wholeNumber = (min: number, minMessage: string, ceiling: number) =>
  z.pipe(
    z.pipe(z.string().check(z.trim(), z.regex(/^[+-]?\d+$/, "not a whole number")), z.transform(Number)),
    z.number().check(z.maximum(ceiling, `too large: at most ${ceiling}`), z.minimum(min, minMessage)),
  );

interface Ceiling {
  readonly max: number;
  readonly reason: string;
}

/**
 * A spec whose schema is built on first use: a load parses only the keys its file sets, and
 * building all forty schemas costs more than a neighbour's whole read may spend.
 */
function lazy<T>(fields: Omit<PropertySpec<T>, "schema">, build: () => PropertySpec<T>["schema"]): PropertySpec<T> {
  let schema: PropertySpec<T>["schema"] | undefined;
  return {
    ...fields,
    get schema() {
      return (schema ??= build());
    },
  };
}

function bounded<T>(unit: Unit, ceiling: Ceiling, javaInt = false): Pick<PropertySpec<T>, "max" | "maxReason" | "unusable"> {
  return { max: ceiling.max, maxReason: ceiling.reason, unusable: (raw) => ceilingProblem(raw, ceiling.max, unit, ceiling.reason, javaInt) };
}

function millis<D extends number | null>(key: string, defaultValue: D, min: number, ceiling: Ceiling, description: string, javaInt = false): PropertySpec<number | D> {
  const bound = min === 0 ? "must be 0 or more" : "must be more than 0";
  return lazy<number | D>({ key, unit: "ms", defaultValue, description, ...bounded("ms", ceiling, javaInt) }, () => wholeNumber(min, `${bound} milliseconds`, ceiling.max));
}

const TRUE_WORDS = ["true", "yes", "y", "on", "1"];
const FALSE_WORDS = ["false", "no", "n", "off", "0"];

function bool(key: string, defaultValue: boolean, description: string): PropertySpec<boolean> {
  return lazy(
    {
      key,
      unit: "boolean",
      defaultValue,
      description,
      // Properties.load keeps trailing blanks and the agent's converter does not trim, so there
      // "true " is invalid and becomes false. hb reads what was meant and says so.
      agentDifference: (raw) =>
        raw !== raw.trim() ? "has blanks around it, which the CloudStack agent does not trim: the agent reads it as false" : undefined,
    },
    () =>
      z.pipe(
      z.string().check(
        z.trim(),
        z.toLowerCase(),
        z.refine((word) => TRUE_WORDS.includes(word) || FALSE_WORDS.includes(word), `not a boolean (${TRUE_WORDS.join("/")} or ${FALSE_WORDS.join("/")})`),
      ),
      z.transform((word: string) => TRUE_WORDS.includes(word)),
    ),
  );
}

function textFields<D extends string | null>(key: string, defaultValue: D, unit: "path" | "string", description: string): Omit<PropertySpec<string | D>, "schema"> {
  return { key, unit, defaultValue, description, unusable: (raw) => controlCharacterIn(raw, unit === "path") };
}

function text<D extends string | null>(key: string, defaultValue: D, unit: "path" | "string", description: string): PropertySpec<string | D> {
  return lazy(textFields(key, defaultValue, unit, description), () =>
    unit === "path"
      ? z.string().check(z.trim(), z.minLength(1), z.refine((path) => path.startsWith("/"), "not an absolute path"))
      : z.string().check(z.trim(), z.minLength(1)),
  );
}

function oneOf<const T extends readonly [string, ...string[]]>(key: string, values: T, defaultValue: T[number], description: string): PropertySpec<T[number]> {
  return lazy({ key, unit: "enum", defaultValue, description }, () => z.pipe(z.string().check(z.trim()), z.enum(values, { error: `not one of ${values.join(", ")}` })));
}

const fenceAction: PropertySpec<FenceActionName> = lazy(
  {
    key: "kvm.heartbeat.fence.action",
    unit: "enum",
    defaultValue: "hard-reboot",
    description: "What the host does when its heartbeat budget is spent: hard-reboot (alias reboot), graceful-reboot, restart-agent, log-only or custom (kvm.heartbeat.fence.custom.script).",
  },
  // Upstream's helper strips all whitespace and treats anything unknown as a hard reboot.
  () =>
    z.pipe(
      z.pipe(z.string().check(z.trim()), z.transform((value: string) => (Object.hasOwn(FENCE_ACTION_ALIASES, value) ? FENCE_ACTION_ALIASES[value] : value))),
      z.enum(FENCE_ACTIONS, { error: `not a fence action (${FENCE_ACTIONS.join(", ")}; reboot = hard-reboot)` }),
    ),
);

// auto: the native worker beside hbd's executable (else per-call Node); node: per-call Node; or a path.
const storageWorker: PropertySpec<string> = lazy(
  textFields(
    "hb.storage.worker",
    "auto",
    "string",
    "The storage worker hbd keeps per pool: auto (hb-storage-worker beside hbd's executable, else a Node child per write), node (a Node child per write), or the native worker's absolute path (root's, writable by no one else).",
  ),
  () => z.string().check(z.trim(), z.refine((value) => value === "auto" || value === "node" || value.startsWith("/"), "not auto, node or an absolute path")),
);

// The syntax here; loopback or not depends on hb.status.allow.remote, checked once both are read.
const statusListen: PropertySpec<string> = lazy(
  textFields("hb.status.listen", "127.0.0.1:9746", "string", "Address of hbd's read-only status endpoint, HOST:PORT (loopback only unless hb.status.allow.remote)."),
  () => z.string().check(z.trim(), z.refine((value) => statusListenProblem(value, true) === undefined, "expected HOST:PORT, e.g. 127.0.0.1:9746")),
);

function count(key: string, defaultValue: number, min: number, ceiling: Ceiling, description: string): PropertySpec<number> {
  return lazy({ key, unit: "count", defaultValue, description, ...bounded("count", ceiling) }, () => wholeNumber(min, `must be ${min} or more`, ceiling.max));
}

function seconds(key: string, defaultValue: number, ceiling: Ceiling, description: string): PropertySpec<number> {
  return lazy({ key, unit: "s", defaultValue, description, ...bounded("s", ceiling) }, () => wholeNumber(1, "must be more than 0 seconds", ceiling.max));
}

// Ceilings: each far above any setting that makes sense, and low enough that every time the
// timing model derives (tries × deadlines and pauses, with every value at its ceiling) still fits
// in a timer.
const ATTEMPT: Ceiling = { max: HOUR_MS, reason: "a storage operation still running after an hour is hung, not slow" };
const PAUSE: Ceiling = { max: HOUR_MS, reason: "an hour between heartbeats, or between tries, is no heartbeat" };
const TRIES: Ceiling = { max: 100, reason: "with every duration at its ceiling, the derived decision time still fits in a timer" };
const FENCE_STEP: Ceiling = { max: MINUTE_MS, reason: "a hung step holds the fence this long" };
const FLUSH: Ceiling = { max: 5 * MINUTE_MS, reason: "the reset must follow the flush" };
const GRACEFUL: Ceiling = { max: HOUR_MS, reason: "the reset must follow a stalled shutdown" };
const CUSTOM: Ceiling = { max: 10 * MINUTE_MS, reason: "a hung custom script holds the fallback reset this long" };
const MAX_AGE: Ceiling = { max: DAY_MS, reason: "a heartbeat a day old is dead to any reader" };
const HA_INTERVAL: Ceiling = { max: 3_600, reason: "keeps the modelled recovery time inside a timer" };
const HA_ATTEMPTS: Ceiling = { max: 100, reason: "keeps the modelled recovery time inside a timer" };

const ratio = (key: string, defaultValue: number, description: string): PropertySpec<number> =>
  lazy({ key, unit: "ratio", defaultValue, description }, () =>
    z.pipe(
      z.pipe(z.string().check(z.trim(), z.regex(/^\d*\.?\d+$/, "not a decimal number")), z.transform(Number)),
      z.number().check(z.gt(0, "must be more than 0"), z.maximum(1, "must be 1 or less")),
    ),
  );

/**
 * Every property hb reads, CloudStack's names, defaults and units first (reference §3), then
 * hb's own (`hb.` prefix). The management server's `kvm.ha.*` settings cannot be seen from a
 * host; they enter the timing model as `hb.kvm.ha.*` with CloudStack's defaults.
 */
export const PROPERTY_SPECS = {
  "heartbeat.update.timeout": millis("heartbeat.update.timeout", 60_000, 1, ATTEMPT, "Deadline of one heartbeat attempt, and of the agent's fence script run.", true),
  "kvm.heartbeat.update.frequency": millis("kvm.heartbeat.update.frequency", 60_000, 1, PAUSE, "Pause between the end of one heartbeat round and the start of the next; neighbours call a host dead after this age."),
  "kvm.heartbeat.update.max.tries": count("kvm.heartbeat.update.max.tries", 5, 1, TRIES, "Attempts per round before the host is declared dead."),
  "kvm.heartbeat.update.retry.sleep": millis("kvm.heartbeat.update.retry.sleep", 10_000, 0, PAUSE, "Pause between two failed attempts of a round."),
  "kvm.heartbeat.checker.timeout": millis("kvm.heartbeat.checker.timeout", 360_000, 1, ATTEMPT, "Deadline of a neighbour's heartbeat check."),
  "reboot.host.and.alert.management.on.heartbeat.timeout": bool("reboot.host.and.alert.management.on.heartbeat.timeout", true, "Whether a dead heartbeat leads to the fence action at all."),
  "kvm.heartbeat.fence.action": fenceAction,
  "mount.path": text("mount.path", "/mnt", "path", "Base folder of the agent's NFS mount points (<mount.path>/<pool uuid>)."),
  "private.network.device": text("private.network.device", null, "string", "Network device whose IPv4 address names this host's heartbeat file."),
  "hb.state.dir": text("hb.state.dir", "/var/lib/hb", "path", "Local folder for hb's state and fence records (never the shared storage)."),
  "hb.slow.threshold": ratio("hb.slow.threshold", 0.5, "Fraction of heartbeat.update.timeout above which a successful attempt counts as slow (never fences)."),
  "hb.fence.scope": oneOf("hb.fence.scope", FENCE_SCOPES, "any", "any: one dead target fences the host (upstream); all: only when every target is dead."),
  "hb.fence.dry.run": bool("hb.fence.dry.run", false, "Run the whole decision pipeline and record it, but do not act."),
  "hb.heartbeat.max.age": millis("hb.heartbeat.max.age", null, 1, MAX_AGE, "Age at which hb's neighbour check calls a heartbeat dead when longer than the agent's -t (kvm.heartbeat.update.frequency); set it above frequency + heartbeat.update.timeout to end the race of upstream's equal threshold."),
  "hb.fence.flush.wait": millis("hb.fence.flush.wait", 5_000, 0, FLUSH, "Wait after starting an asynchronous flush, before the reset (upstream: sleep 5)."),
  "hb.fence.graceful.deadline": millis("hb.fence.graceful.deadline", 120_000, 1, GRACEFUL, "How long graceful-reboot may take before hb falls back to reboot."),
  "hb.fence.sysrq.trigger": text("hb.fence.sysrq.trigger", "/proc/sysrq-trigger", "path", "The sysrq trigger the reboot action writes to (s: flush, b: reset)."),
  "hb.fence.agent.service": text("hb.fence.agent.service", "cloudstack-agent", "string", "The unit restart-agent restarts."),
  "hb.fence.kill.affected.vms": bool("hb.fence.kill.affected.vms", false, "Before a non-fencing action, stop the qemu processes whose disks are on the lost pool (split-brain guard)."),
  "hb.fence.step.timeout": millis("hb.fence.step.timeout", 2_000, 1, FENCE_STEP, "Deadline of each step around a fence action (audit record, syslog line, systemctl request): a hung step never holds the action."),
  "kvm.heartbeat.fence.custom.script": text("kvm.heartbeat.fence.custom.script", "/etc/cloudstack/agent/heartbeat-fence-custom.sh", "path", "The script the custom fence action runs (root's, writable by no one else); hb falls back to reboot when it cannot run it, fails or overruns hb.fence.custom.deadline."),
  "hb.fence.custom.deadline": millis("hb.fence.custom.deadline", 30_000, 1, CUSTOM, "How long the custom script may run; at the deadline its process group is killed and hb falls back to reboot."),
  "hb.fence.custom.fences": bool("hb.fence.custom.fences", false, "Whether the custom script takes the host down (counts as a fence). hb cannot tell: by default it does not, and the split-brain warnings apply."),
  "hb.fence.verify": oneOf("hb.fence.verify", FENCE_VERIFY_MODES, "drbd-quorum", "What -c checks before it fences: drbd-quorum (veto while DRBD quorum holds), none (upstream), storage (also one NFS write)."),
  "hb.fence.verify.timeout": millis("hb.fence.verify.timeout", null, 1, ATTEMPT, "Deadline of the -c verification; by default derived so that verification plus the action fit inside heartbeat.update.timeout."),
  "hb.sysrq.file": text("hb.sysrq.file", "/proc/sys/kernel/sysrq", "path", "The kernel's sysrq setting, as hb doctor reads it (reboot needs 128, sync 16; 1 allows all)."),
  "kvm.scripts.dir": text("kvm.scripts.dir", "scripts/vm/hypervisor/kvm", "string", "Where the agent finds its heartbeat scripts: under /usr/share/cloudstack-agent/lib/, then /usr/share/cloudstack-common/ (an absolute path is used as it is); hb doctor checks the shims are there."),
  "hb.storage.worker": storageWorker,
  "hb.mounts.file": text("hb.mounts.file", "/proc/self/mounts", "path", "The mount table that tells whether a pool is mounted."),
  "hb.host.ip": text("hb.host.ip", null, "string", "This host's id in heartbeat file names; else the IPv4 address of private.network.device."),
  "hb.pools": text("hb.pools", null, "string", "Pools declared explicitly (see hbd's README for the syntax); libvirt discovery adds the others."),
  "hb.drbd.node.name": text("hb.drbd.node.name", null, "string", "This host's DRBD/LINSTOR node name; else the output of hostname, as upstream."),
  "hb.drbd.drbdsetup": text("hb.drbd.drbdsetup", "drbdsetup", "string", "The drbdsetup program (found on PATH unless a path is given)."),
  "hb.linstor.controller": text("hb.linstor.controller", null, "string", "LINSTOR controller URL for the peer check when no resource is shared (e.g. http://10.0.0.2:3370)."),
  "hb.status.listen": statusListen,
  "hb.status.allow.remote": bool("hb.status.allow.remote", false, "Allow a non-loopback hb.status.listen."),
  "hb.watchdog": oneOf("hb.watchdog", WATCHDOG_MODES, "none", "Watchdog backstop: none (unprotected), systemd (WATCHDOG=1 keepalives) or device."),
  "hb.watchdog.device": text("hb.watchdog.device", "/dev/watchdog", "path", "The watchdog device for hb.watchdog=device and graceful-reboot's fallback."),
  "hb.kvm.ha.activity.check.interval": seconds("hb.kvm.ha.activity.check.interval", 60, HA_INTERVAL, "Management server's kvm.ha.activity.check.interval, for the timing model."),
  "hb.kvm.ha.activity.check.max.attempts": count("hb.kvm.ha.activity.check.max.attempts", 10, 1, HA_ATTEMPTS, "Management server's kvm.ha.activity.check.max.attempts, for the timing model."),
  "hb.kvm.ha.activity.check.failure.ratio": ratio("hb.kvm.ha.activity.check.failure.ratio", 0.7, "Management server's kvm.ha.activity.check.failure.ratio, for the timing model."),
} as const;

export type PropertyKey = keyof typeof PROPERTY_SPECS;
export const PROPERTY_KEYS = Object.keys(PROPERTY_SPECS) as PropertyKey[];

type SpecValue<S> = S extends PropertySpec<infer T> ? T : never;
/** Effective, typed values of every heartbeat property, keyed by its property name. */
export type HeartbeatConfig = { readonly [K in PropertyKey]: SpecValue<(typeof PROPERTY_SPECS)[K]> };

export function isPropertyKey(key: string): key is PropertyKey {
  return Object.hasOwn(PROPERTY_SPECS, key);
}
