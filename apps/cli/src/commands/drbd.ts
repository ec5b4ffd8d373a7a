import { isHbError, type HeartbeatConfig } from "@hb/config";
import { IO_ERROR_VS_SUSPEND_IO, type DrbdResourceOptions, type HostVerdict, type PeerVerdict, type ResourceVerdict } from "@hb/storage-drbd";
import { parseCommandArgs, positionals, wholeNumberOption } from "../args.js";
import type { RunDeps } from "../context.js";
import { sharedConfig } from "../lib/config.js";
import { askPeer, drbdRun, isDrbdFailure, nodeName, readHealth, readOptionFindings, type DrbdRun } from "../lib/drbd.js";
import { UsageError } from "../errors.js";

const USAGES = {
  health: "hb drbd health [--json] [--timeout MS] [--file F]",
  peer: "hb drbd peer NODE [--json] [--timeout MS] [--file F]",
  doctor: "hb drbd doctor [--timeout MS] [--file F]",
} as const;
type Verb = keyof typeof USAGES;

export const DRBD_USAGE = `hb drbd — DRBD/LINSTOR health that tells contention from loss

Usage:
  ${USAGES.health}
      this host's verdict (healthy, degraded or lost), then each resource with its verdict and
      evidence, from drbdsetup events2. Exit 0 healthy or degraded, 1 lost, 2 drbdsetup could not
      be run or its output could not be read.
  ${USAGES.peer}
      is NODE alive? From this host's DRBD connections (drbdsetup status --json); when no resource
      is shared, from the LINSTOR controller (hb.linstor.controller) if one is set.
      Exit 0 alive, 1 dead, 3 unknown, 2 drbdsetup could not be run or read.
  ${USAGES.doctor}
      unsafe DRBD options (drbdsetup show --show-defaults --json): quorum off, on-no-quorum
      differing from on-no-data-accessible; and what io-error and suspend-io mean for VMs.
      Exit 0 nothing unsafe, 1 warnings, 2 the options could not be read.

drbdsetup is hb.drbd.drbdsetup. Each run is bounded by --timeout, default heartbeat.update.timeout.
This host's node name is hb.drbd.node.name, else the output of hostname (as upstream).
`;

const OPTIONS = {
  json: { type: "boolean" },
  timeout: { type: "string" },
  file: { type: "string", short: "f" },
  help: { type: "boolean", short: "h" },
} as const;

export const EXIT_LOST = 1;
export const EXIT_UNREADABLE = 2;
const PEER_EXIT = { alive: 0, dead: 1, unknown: 3 } as const;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [verb = "", ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help" || verb === "") {
    deps.stdout(DRBD_USAGE);
    return verb === "" ? 2 : 0;
  }
  if (!Object.hasOwn(USAGES, verb)) throw new UsageError(`unknown command: hb drbd ${argv.join(" ")} (hb drbd health|peer|doctor)`);
  const usage = USAGES[verb as Verb];
  const { values, positionals: words } = parseCommandArgs(rest, OPTIONS, usage);
  if (values.help === true) {
    deps.stdout(DRBD_USAGE);
    return 0;
  }
  if (verb === "doctor" && values.json === true) throw new UsageError(`--json is not an option of hb drbd doctor (usage: ${usage})`);
  const config = await sharedConfig(values.file, deps);
  const settings = drbdRun(config, wholeNumberOption("timeout", values.timeout), deps);
  try {
    switch (verb as Verb) {
      case "health":
        positionals(words, 0, usage);
        return await health(settings, config, values.json === true, deps);
      case "peer": {
        const [node = ""] = positionals(words, 1, usage);
        return await peer(node, settings, config, values.json === true, deps);
      }
      case "doctor":
        positionals(words, 0, usage);
        return await doctor(settings, deps);
    }
  } catch (error) {
    // A bad NODE is a usage error: exit 1 would read as "dead".
    if (isHbError(error) && error.code === "DRBD_NODE_NAME") throw new UsageError(error.message);
    if (!isDrbdFailure(error)) throw error;
    const what = error.code === "DRBD_OUTPUT" ? "the output of drbdsetup could not be read" : "drbdsetup could not be run";
    deps.stderr(`hb: ${what}: ${error.message}\n`);
    return EXIT_UNREADABLE;
  }
}

/** The node name's note, when it could not be told, goes to stderr: the commands work without it. */
function note(text: string | null, deps: RunDeps): void {
  if (text !== null) deps.stderr(`hb: ${text}\n`);
}

async function health(settings: DrbdRun, config: HeartbeatConfig, json: boolean, deps: RunDeps): Promise<number> {
  const { host, node, note: why } = await readHealth(settings, config);
  note(why, deps);
  deps.stdout(json ? `${JSON.stringify(healthJson(host, node), null, 2)}\n` : healthText(host, node));
  return host.verdict === "lost" ? EXIT_LOST : 0;
}

function healthJson(host: HostVerdict, node: string | undefined) {
  return {
    verdict: host.verdict,
    node: node ?? null,
    source: host.source,
    summary: host.summary,
    resources: host.resources.map((resource) => ({
      name: resource.name,
      role: resource.role,
      verdict: resource.verdict,
      ...(resource.mayPromote === undefined ? {} : { mayPromote: resource.mayPromote }),
      ...(resource.promotionScore === undefined ? {} : { promotionScore: resource.promotionScore }),
      evidence: resource.evidence.map(({ resource: _resource, ...fact }) => fact),
    })),
  };
}

/** The facts worth a line: what impairs a resource, or, for a healthy one, what shows it is. */
function shownFacts(resource: ResourceVerdict): string {
  const facts =
    resource.verdict === "healthy"
      ? resource.evidence.filter((fact) => fact.field !== "role")
      : resource.evidence.filter((fact) => fact.verdict !== "healthy" || fact.field === "promotion_score");
  return facts.map((fact) => fact.text).join("; ");
}

function healthText(host: HostVerdict, node: string | undefined): string {
  const lines = [`${node === undefined ? "this host" : node}: ${host.verdict} (${host.summary})`];
  const nameWidth = Math.max(0, ...host.resources.map((resource) => resource.name.length));
  const roleWidth = Math.max(0, ...host.resources.map((resource) => resource.role.length));
  for (const resource of host.resources) {
    lines.push(`${resource.name.padEnd(nameWidth)}  ${resource.role.padEnd(roleWidth)}  ${resource.verdict.padEnd(8)}  ${shownFacts(resource)}`);
  }
  return `${lines.join("\n")}\n`;
}

const DECIDED_BY: Record<PeerVerdict["decidedBy"], string> = {
  drbd: "this host's DRBD connections",
  linstor: "the LINSTOR controller",
  self: "this host's own DRBD health",
  none: "no evidence either way",
};

async function peer(node: string, settings: DrbdRun, config: HeartbeatConfig, json: boolean, deps: RunDeps): Promise<number> {
  const self = await nodeName(settings, config);
  note(self.note, deps);
  const verdict = await askPeer(node, self.node, settings, config);
  if (json) {
    deps.stdout(`${JSON.stringify(verdict, null, 2)}\n`);
  } else {
    const lines = [`${verdict.node}: ${verdict.answer} (${DECIDED_BY[verdict.decidedBy]})`, ...verdict.evidence.map((fact) => `  ${fact.text}`)];
    deps.stdout(`${lines.join("\n")}\n`);
  }
  return PEER_EXIT[verdict.answer];
}

function describeOptions(resource: DrbdResourceOptions): string {
  const shown = (value: string | undefined) => value ?? "(not shown)";
  return `quorum ${shown(resource.quorum)}, on-no-quorum ${shown(resource.onNoQuorum)}, on-no-data-accessible ${shown(resource.onNoDataAccessible)}`;
}

async function doctor(settings: DrbdRun, deps: RunDeps): Promise<number> {
  const { resources, findings } = await readOptionFindings(settings);
  const lines: string[] = [];
  for (const resource of resources) {
    lines.push(`${resource.name}: ${describeOptions(resource)}`);
    for (const finding of findings.filter((candidate) => candidate.resource === resource.name)) {
      lines.push(`  ${finding.level === "warning" ? "WARNING" : "note"}: ${finding.text}`);
    }
  }
  const warnings = findings.filter((finding) => finding.level === "warning").length;
  if (resources.length === 0) lines.push("No DRBD resources are configured on this host.");
  else lines.push("", warnings === 0 ? `Nothing unsafe in ${resources.length} resource(s).` : `${warnings} warning(s) in ${resources.length} resource(s).`);
  lines.push("", "io-error or suspend-io, for VMs:", ...IO_ERROR_VS_SUSPEND_IO.split("\n").map((line) => `  ${line}`));
  deps.stdout(`${lines.join("\n")}\n`);
  return warnings === 0 ? 0 : 1;
}
