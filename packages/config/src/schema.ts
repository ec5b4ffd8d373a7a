// zod/mini: the same schemas at a fraction of the start-up cost of classic zod (hb is a CLI the
// agent starts for every heartbeat).
import * as z from "zod/mini";

/** The fence actions hb knows. `hard-reboot` is read as `reboot` (a later upstream name). */
export const FENCE_ACTIONS = ["reboot", "graceful-reboot", "restart-agent", "log-only"] as const;
export type FenceActionName = (typeof FENCE_ACTIONS)[number];

/** Which dead targets fence the host: any one (upstream), or only all of them together. */
export const FENCE_SCOPES = ["any", "all"] as const;
export type FenceScope = (typeof FENCE_SCOPES)[number];

/** What `-c` verifies before it fences. */
export const FENCE_VERIFY_MODES = ["drbd-quorum", "none", "storage"] as const;
export type FenceVerifyMode = (typeof FENCE_VERIFY_MODES)[number];

/** hbd's watchdog backstop. */
export const WATCHDOG_MODES = ["none", "systemd", "device"] as const;
export type WatchdogMode = (typeof WATCHDOG_MODES)[number];

/** Actions that take the host down. The others leave VMs running (DESIGN rule 8). */
export function isFencingAction(action: FenceActionName): boolean {
  return action === "reboot" || action === "graceful-reboot";
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
}

const JAVA_INT_MAX = 2_147_483_647;

// commons-beanutils' number converters trim and accept an optional sign; anything else
// (decimals, units, hex) is invalid and falls back to the default.
const wholeNumber = (javaMax: number, min: number, minMessage: string) =>
  z.pipe(
    z.pipe(z.string().check(z.trim(), z.regex(/^[+-]?\d+$/, "not a whole number")), z.transform(Number)),
    z.number().check(
      z.maximum(javaMax, javaMax === JAVA_INT_MAX ? `larger than ${javaMax}, which the agent (a Java int) cannot read` : "too large"),
      z.minimum(min, minMessage),
    ),
  );

function millis<D extends number | null>(key: string, defaultValue: D, min: number, description: string, javaMax = Number.MAX_SAFE_INTEGER): PropertySpec<number | D> {
  const bound = min === 0 ? "must be 0 or more" : "must be more than 0";
  return {
    key,
    unit: "ms",
    defaultValue,
    description,
    schema: wholeNumber(javaMax, min, `${bound} milliseconds`),
  };
}

const TRUE_WORDS = ["true", "yes", "y", "on", "1"];
const FALSE_WORDS = ["false", "no", "n", "off", "0"];

function bool(key: string, defaultValue: boolean, description: string): PropertySpec<boolean> {
  return {
    key,
    unit: "boolean",
    defaultValue,
    description,
    schema: z.pipe(
      z.string().check(
        z.trim(),
        z.toLowerCase(),
        z.refine((word) => TRUE_WORDS.includes(word) || FALSE_WORDS.includes(word), `not a boolean (${TRUE_WORDS.join("/")} or ${FALSE_WORDS.join("/")})`),
      ),
      z.transform((word: string) => TRUE_WORDS.includes(word)),
    ),
    // Properties.load keeps trailing blanks and the agent's converter does not trim, so there
    // "true " is invalid and becomes false. hb reads what was meant and says so.
    agentDifference: (raw) =>
      raw !== raw.trim() ? "has blanks around it, which the CloudStack agent does not trim: the agent reads it as false" : undefined,
  };
}

function text<D extends string | null>(key: string, defaultValue: D, unit: "path" | "string", description: string): PropertySpec<string | D> {
  return {
    key,
    unit,
    defaultValue,
    description,
    schema:
      unit === "path"
        ? z.string().check(z.trim(), z.minLength(1), z.refine((path) => path.startsWith("/"), "not an absolute path"))
        : z.string().check(z.trim(), z.minLength(1)),
  };
}

function oneOf<const T extends readonly [string, ...string[]]>(key: string, values: T, defaultValue: T[number], description: string): PropertySpec<T[number]> {
  return {
    key,
    unit: "enum",
    defaultValue,
    description,
    schema: z.pipe(z.string().check(z.trim()), z.enum(values, { error: `not one of ${values.join(", ")}` })),
  };
}

const fenceAction: PropertySpec<FenceActionName> = {
  key: "kvm.heartbeat.fence.action",
  unit: "enum",
  defaultValue: "reboot",
  description: "What the host does when its heartbeat budget is spent: reboot (alias hard-reboot), graceful-reboot, restart-agent or log-only.",
  // Upstream's helper strips all whitespace and treats anything unknown as a hard reboot.
  schema: z.pipe(
    z.pipe(z.string().check(z.trim()), z.transform((value: string) => (value === "hard-reboot" ? "reboot" : value))),
    z.enum(FENCE_ACTIONS, { error: `not a fence action (${FENCE_ACTIONS.join(", ")}; hard-reboot = reboot)` }),
  ),
};

function count(key: string, defaultValue: number, min: number, description: string): PropertySpec<number> {
  return { key, unit: "count", defaultValue, description, schema: wholeNumber(Number.MAX_SAFE_INTEGER, min, `must be ${min} or more`) };
}

function seconds(key: string, defaultValue: number, description: string): PropertySpec<number> {
  return { key, unit: "s", defaultValue, description, schema: wholeNumber(Number.MAX_SAFE_INTEGER, 1, "must be more than 0 seconds") };
}

const ratio = (key: string, defaultValue: number, description: string): PropertySpec<number> => ({
  key,
  unit: "ratio",
  defaultValue,
  description,
  schema: z.pipe(
    z.pipe(z.string().check(z.trim(), z.regex(/^\d*\.?\d+$/, "not a decimal number")), z.transform(Number)),
    z.number().check(z.gt(0, "must be more than 0"), z.maximum(1, "must be 1 or less")),
  ),
});

/**
 * Every property hb reads, CloudStack's names, defaults and units first (reference §3), then
 * hb's own (`hb.` prefix). The management server's `kvm.ha.*` settings cannot be seen from a
 * host; they enter the timing model as `hb.kvm.ha.*` with CloudStack's defaults.
 */
export const PROPERTY_SPECS = {
  "heartbeat.update.timeout": millis("heartbeat.update.timeout", 60_000, 1, "Deadline of one heartbeat attempt, and of the agent's fence script run.", JAVA_INT_MAX),
  "kvm.heartbeat.update.frequency": millis("kvm.heartbeat.update.frequency", 60_000, 1, "Pause between the end of one heartbeat round and the start of the next; neighbours call a host dead after this age."),
  "kvm.heartbeat.update.max.tries": count("kvm.heartbeat.update.max.tries", 5, 1, "Attempts per round before the host is declared dead."),
  "kvm.heartbeat.update.retry.sleep": millis("kvm.heartbeat.update.retry.sleep", 10_000, 0, "Pause between two failed attempts of a round."),
  "kvm.heartbeat.checker.timeout": millis("kvm.heartbeat.checker.timeout", 360_000, 1, "Deadline of a neighbour's heartbeat check."),
  "reboot.host.and.alert.management.on.heartbeat.timeout": bool("reboot.host.and.alert.management.on.heartbeat.timeout", true, "Whether a dead heartbeat leads to the fence action at all."),
  "kvm.heartbeat.fence.action": fenceAction,
  "mount.path": text("mount.path", "/mnt", "path", "Base folder of the agent's NFS mount points (<mount.path>/<pool uuid>)."),
  "private.network.device": text("private.network.device", null, "string", "Network device whose IPv4 address names this host's heartbeat file."),
  "hb.state.dir": text("hb.state.dir", "/var/lib/hb", "path", "Local folder for hb's state and fence records (never the shared storage)."),
  "hb.slow.threshold": ratio("hb.slow.threshold", 0.5, "Fraction of heartbeat.update.timeout above which a successful attempt counts as slow (never fences)."),
  "hb.fence.scope": oneOf("hb.fence.scope", FENCE_SCOPES, "any", "any: one dead target fences the host (upstream); all: only when every target is dead."),
  "hb.fence.dry.run": bool("hb.fence.dry.run", false, "Run the whole decision pipeline and record it, but do not act."),
  "hb.heartbeat.max.age": millis("hb.heartbeat.max.age", null, 1, "Age at which hb's neighbour check calls a heartbeat dead when longer than the agent's -t (kvm.heartbeat.update.frequency); set it above frequency + heartbeat.update.timeout to end the race of upstream's equal threshold."),
  "hb.fence.flush.wait": millis("hb.fence.flush.wait", 5_000, 0, "Wait after starting an asynchronous flush, before the reset (upstream: sleep 5)."),
  "hb.fence.graceful.deadline": millis("hb.fence.graceful.deadline", 120_000, 1, "How long graceful-reboot may take before hb falls back to reboot."),
  "hb.fence.sysrq.trigger": text("hb.fence.sysrq.trigger", "/proc/sysrq-trigger", "path", "The sysrq trigger the reboot action writes to (s: flush, b: reset)."),
  "hb.fence.agent.service": text("hb.fence.agent.service", "cloudstack-agent", "string", "The unit restart-agent restarts."),
  "hb.fence.kill.affected.vms": bool("hb.fence.kill.affected.vms", false, "Before a non-fencing action, stop the qemu processes whose disks are on the lost pool (split-brain guard)."),
  "hb.fence.step.timeout": millis("hb.fence.step.timeout", 2_000, 1, "Deadline of each step around a fence action (audit record, syslog line, systemctl request): a hung step never holds the action."),
  "hb.fence.verify": oneOf("hb.fence.verify", FENCE_VERIFY_MODES, "drbd-quorum", "What -c checks before it fences: drbd-quorum (veto while DRBD quorum holds), none (upstream), storage (also one NFS write)."),
  "hb.fence.verify.timeout": millis("hb.fence.verify.timeout", null, 1, "Deadline of the -c verification; by default derived so that verification plus the action fit inside heartbeat.update.timeout."),
  "hb.mounts.file": text("hb.mounts.file", "/proc/self/mounts", "path", "The mount table that tells whether a pool is mounted."),
  "hb.host.ip": text("hb.host.ip", null, "string", "This host's id in heartbeat file names; else the IPv4 address of private.network.device."),
  "hb.pools": text("hb.pools", null, "string", "Pools declared explicitly (see hbd's README for the syntax); libvirt discovery adds the others."),
  "hb.drbd.node.name": text("hb.drbd.node.name", null, "string", "This host's DRBD/LINSTOR node name; else the output of hostname, as upstream."),
  "hb.drbd.drbdsetup": text("hb.drbd.drbdsetup", "drbdsetup", "string", "The drbdsetup program (found on PATH unless a path is given)."),
  "hb.linstor.controller": text("hb.linstor.controller", null, "string", "LINSTOR controller URL for the peer check when no resource is shared (e.g. http://10.0.0.2:3370)."),
  "hb.status.listen": text("hb.status.listen", "127.0.0.1:9746", "string", "Address of hbd's read-only status endpoint (loopback only unless hb.status.allow.remote)."),
  "hb.status.allow.remote": bool("hb.status.allow.remote", false, "Allow a non-loopback hb.status.listen."),
  "hb.watchdog": oneOf("hb.watchdog", WATCHDOG_MODES, "none", "Watchdog backstop: none (unprotected), systemd (WATCHDOG=1 keepalives) or device."),
  "hb.watchdog.device": text("hb.watchdog.device", "/dev/watchdog", "path", "The watchdog device for hb.watchdog=device and graceful-reboot's fallback."),
  "hb.kvm.ha.activity.check.interval": seconds("hb.kvm.ha.activity.check.interval", 60, "Management server's kvm.ha.activity.check.interval, for the timing model."),
  "hb.kvm.ha.activity.check.max.attempts": count("hb.kvm.ha.activity.check.max.attempts", 10, 1, "Management server's kvm.ha.activity.check.max.attempts, for the timing model."),
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
