import { resolve } from "node:path";
import { statusSettings } from "@hb/config";
import { parseCommandArgs, positionals } from "../args.js";
import { loadOrDefaults, propertiesPath, type RunDeps } from "../context.js";
import { UsageError } from "../errors.js";
import { dpkgDiversions, inspectShims, installShims, thisHb, uninstallShims, type Diversions, type HbCommand, type ShimState } from "../lib/shims.js";

const USAGE = "hb shims install|uninstall|status --dir DIR [--hb PATH] [--force] [--divert [--admindir DIR]] [--json]";

export const SHIMS_USAGE = `hb shims — hb in place of the agent's heartbeat scripts

Usage:
  hb shims install   --dir DIR [--hb PATH] [--force] [--divert [--admindir DIR]]
      writes kvmheartbeat.sh, kvmspheartbeat.sh and kvmvmactivity.sh into DIR, each running
      \`hb compat …\`, and keeps each original as NAME.orig. --force: a script that is not hb's
      shim while NAME.orig exists (an agent upgrade replaced the shim) becomes the new original.
      --divert: also records each script as diverted to NAME.orig in dpkg's database
      (dpkg-divert --package hb --no-rename), so an agent upgrade writes upstream's new
      script there and never over the shim. --admindir: another dpkg database.
  hb shims uninstall --dir DIR [--divert [--admindir DIR]]
      puts the originals back; --divert: then removes the diversions.
  hb shims status    --dir DIR [--json]
      whether the shims are in place and run this hb (exit 0), or not (exit 1).

DIR is the agent's script folder, e.g. /usr/share/cloudstack-common/scripts/vm/hypervisor/kvm.
--hb PATH: the hb executable the shims run (default: this node and this hb's bin/hb.js).
Agent upgrades rewrite that folder: install with --divert on dpkg systems; on rpm systems the
hb package re-runs \`hb shims install --force\` after each cloudstack-agent upgrade.
`;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [verb = "", ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help" || verb === "") {
    deps.stdout(SHIMS_USAGE);
    return verb === "" ? 2 : 0;
  }
  if (verb !== "install" && verb !== "uninstall" && verb !== "status") throw new UsageError(`unknown command: hb shims ${argv.join(" ")} (usage: ${USAGE})`);
  const { values, positionals: words } = parseCommandArgs(rest, { dir: { type: "string" }, hb: { type: "string" }, force: { type: "boolean" }, json: { type: "boolean" }, divert: { type: "boolean" }, admindir: { type: "string" } }, USAGE);
  positionals(words, 0, USAGE);
  if (values.dir === undefined || values.dir === "") throw new UsageError(`--dir is required (usage: ${USAGE})`);
  if (values.force && verb !== "install") throw new UsageError(`--force is for install only (usage: ${USAGE})`);
  if (values.json && verb !== "status") throw new UsageError(`--json is for status only (usage: ${USAGE})`);
  if (values.divert && verb === "status") throw new UsageError(`--divert is for install and uninstall (usage: ${USAGE})`);
  if (values.admindir !== undefined && !values.divert) throw new UsageError(`--admindir goes with --divert (usage: ${USAGE})`);
  const hb: HbCommand = values.hb === undefined ? thisHb() : { argv: [resolve(values.hb)] };

  if (verb === "status") {
    const report = await inspectShims(values.dir, hb);
    if (values.json) {
      deps.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      const words: Record<ShimState, string> = { installed: "hb's shim, runs this hb", stale: "hb's shim, runs another hb", original: "not hb's shim", missing: "missing" };
      const lines = report.scripts.map((script) => `${script.name}: ${words[script.state]}${script.original ? ` (original at ${script.name}.orig)` : ""}${script.state === "stale" ? `: ${script.runs ?? "?"}` : ""}`);
      deps.stdout(`${report.dir}\n${lines.join("\n")}\n${report.inPlace ? "shims in place" : "shims not (all) in place"}\n`);
    }
    return report.inPlace ? 0 : 1;
  }
  let diversions: Diversions | undefined;
  if (values.divert) {
    // dpkg-divert waits on dpkg's lock: the same bound as every other step hb runs outside its storage.
    const { stepTimeoutMs } = statusSettings((await loadOrDefaults(propertiesPath(undefined, deps), deps)).values);
    diversions = dpkgDiversions({ executor: deps.executor, deadlineMs: stepTimeoutMs, ...(values.admindir === undefined ? {} : { admindir: resolve(values.admindir) }) });
  }
  const changes =
    verb === "install"
      ? await installShims(values.dir, { hb, force: values.force ?? false, ...(diversions === undefined ? {} : { diversions }) })
      : await uninstallShims(values.dir, { hb, ...(diversions === undefined ? {} : { diversions }) });
  deps.stdout(`${changes.map((change) => `${change.name}: ${change.outcome}`).join("\n")}\n`);
  return 0;
}
