import { resolve } from "node:path";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { UsageError } from "../errors.js";
import { inspectShims, installShims, thisHb, uninstallShims, type HbCommand, type ShimState } from "../lib/shims.js";

const USAGE = "hb shims install|uninstall|status --dir DIR [--hb PATH] [--force] [--json]";

export const SHIMS_USAGE = `hb shims — hb in place of the agent's heartbeat scripts

Usage:
  hb shims install   --dir DIR [--hb PATH] [--force]
      writes kvmheartbeat.sh, kvmspheartbeat.sh and kvmvmactivity.sh into DIR, each running
      \`hb compat …\`, and keeps each original as NAME.orig. --force: a script that is not hb's
      shim while NAME.orig exists (an agent upgrade replaced the shim) becomes the new original.
  hb shims uninstall --dir DIR
      puts the originals back.
  hb shims status    --dir DIR [--json]
      whether the shims are in place and run this hb (exit 0), or not (exit 1).

DIR is the agent's script folder, e.g. /usr/share/cloudstack-common/scripts/vm/hypervisor/kvm.
--hb PATH: the hb executable the shims run (default: this node and this hb's bin/hb.js).
Agent upgrades rewrite that folder: divert the scripts first (dpkg-divert --rename, see the
@hb/storage-nfs README), or re-run \`hb shims install --force\` after each upgrade.
`;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [verb = "", ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help" || verb === "") {
    deps.stdout(SHIMS_USAGE);
    return verb === "" ? 2 : 0;
  }
  if (verb !== "install" && verb !== "uninstall" && verb !== "status") throw new UsageError(`unknown command: hb shims ${argv.join(" ")} (usage: ${USAGE})`);
  const { values, positionals: words } = parseCommandArgs(rest, { dir: { type: "string" }, hb: { type: "string" }, force: { type: "boolean" }, json: { type: "boolean" } }, USAGE);
  positionals(words, 0, USAGE);
  if (values.dir === undefined || values.dir === "") throw new UsageError(`--dir is required (usage: ${USAGE})`);
  if (values.force && verb !== "install") throw new UsageError(`--force is for install only (usage: ${USAGE})`);
  if (values.json && verb !== "status") throw new UsageError(`--json is for status only (usage: ${USAGE})`);
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
  const changes = verb === "install" ? await installShims(values.dir, { hb, force: values.force ?? false }) : await uninstallShims(values.dir, { hb });
  deps.stdout(`${changes.map((change) => `${change.name}: ${change.outcome}`).join("\n")}\n`);
  return 0;
}
