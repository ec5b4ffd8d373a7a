import type { RunDeps } from "./context.js";

/** A command group (`hb config …`, `hb nfs …`): parses its own arguments and runs. */
export interface CommandGroup {
  run(argv: readonly string[], deps: RunDeps): Promise<number>;
}

// Loaded on demand: a command pays at start-up only for its own group.
export const GROUPS: Record<string, () => Promise<CommandGroup>> = {
  config: () => import("./commands/config.js"),
  timing: () => import("./commands/timing.js"),
  simulate: () => import("./commands/simulate.js"),
  nfs: () => import("./commands/nfs.js"),
  drbd: () => import("./commands/drbd.js"),
  fence: () => import("./commands/fence.js"),
  compat: () => import("./commands/compat.js"),
  shims: () => import("./commands/shims.js"),
  status: () => import("./commands/status.js"),
  maintenance: () => import("./commands/maintenance.js"),
  doctor: () => import("./commands/doctor.js"),
};

const FILE_NOTE = "The file is --file, else $AGENT_PROPS, else /etc/cloudstack/agent/agent.properties.\n";

export const USAGE = `hb — the storage heartbeat of CloudStack KVM hosts

Usage:
  hb config show     [--file F] [--json]   every heartbeat setting, its effective value and source
  hb config validate [--file F]            problems as FILE:LINE: KEY: message (exit 1 if any)
  hb config get KEY  [--file F]            the raw value as Java reads it (exit 1 if absent)
  hb config set KEY VALUE [--file F] [--force]
  hb config unset KEY [--file F]
  hb timing explain  [--file F] [--json]   the timeline from last good heartbeat to fence
  hb simulate SCENARIO.json [--file F] [--json]
                                           run the real loop on a simulated clock (limits: hb simulate --help)
  hb nfs …     the NFS heartbeat (hb nfs --help)
  hb drbd …    DRBD/LINSTOR health (hb drbd --help)
  hb fence …   fence actions and their records (hb fence --help)
  hb compat kvmheartbeat|kvmspheartbeat|kvmsmpheartbeat|kvmvmactivity ARGS…
                                           drop-in entry points for upstream's scripts
  hb compat kvmha-fence [-m MOUNT] [SOURCE]
                                           fence_action of hb's shim of kvmha-fence.sh
  hb shims install|uninstall --dir DIR     put the entry points in place of the scripts
  hb status [--json]                       hbd's view: every pool's state, last good heartbeat, deadlines
  hb maintenance on --ttl 30m | off        suspend fencing for a bounded time (root; heartbeats continue)
  hb doctor [--dir DIR] [--json]           deployment mode (drop-in or hbd-owned), shims, hbd reachable
  hb --version

${FILE_NOTE}`;

export type TopLevel =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "group"; readonly name: string; readonly argv: readonly string[] };

/** Only the first word is read here; each group parses the rest itself. */
export function parseTopLevel(argv: readonly string[]): TopLevel {
  const [first, ...rest] = argv;
  if (first === undefined || first === "help" || first === "--help" || first === "-h") return { kind: "help" };
  if (first === "--version" || first === "-V") return { kind: "version" };
  return { kind: "group", name: first, argv: rest };
}

// Groups that print their own help (hb nfs --help…). The others get their lines of USAGE.
const OWN_HELP = new Set(["nfs", "drbd", "fence", "shims", "doctor", "simulate"]);
// Upstream's scripts take -h (the host) and -help is no flag of theirs: only a first word asks.
const FIRST_WORD_HELP = new Set(["compat"]);

/**
 * `hb GROUP … --help` (or -h) for a group without help of its own: its lines of USAGE. Words
 * after `--` are values, never a request for help.
 */
export function groupHelp(name: string, argv: readonly string[]): string | undefined {
  if (OWN_HELP.has(name)) return undefined;
  const end = argv.indexOf("--");
  const words = FIRST_WORD_HELP.has(name) ? argv.slice(0, 1) : end === -1 ? argv : argv.slice(0, end);
  if (!words.some((word) => word === "--help" || word === "-h")) return undefined;
  const lines: string[] = [];
  let inGroup = false;
  for (const line of USAGE.split("\n")) {
    if (/^ {2}hb /.test(line)) inGroup = line.startsWith(`  hb ${name} `) || line === `  hb ${name}`;
    else if (!/^ {4,}\S/.test(line)) inGroup = false;
    if (inGroup) lines.push(line);
  }
  return `Usage:\n${lines.join("\n")}\n\n${FILE_NOTE}`;
}
