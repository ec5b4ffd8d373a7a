import type { RunDeps } from "../context.js";
import { getopts, GetoptsError, type GetoptsResult } from "../getopts.js";
import { UsageError } from "../errors.js";

/**
 * Drop-in entry points for upstream's scripts, called by the agent by file name and judged by
 * exit status and the first line of output: each speaks exactly as its script does. The flags
 * are upstream's getopts specs.
 */
export const SCRIPTS = {
  kvmheartbeat: { spec: "i:p:m:h:t:rc", usage: "Usage: kvmheartbeat.sh -i nfs server ip -p nfs server path -m mount point -h host -r write/read hb log -c cleanup -t interval between read hb log\n" },
  kvmspheartbeat: { spec: "c", usage: "Usage: kvmspheartbeat.sh -c\n" },
  kvmvmactivity: { spec: "i:p:m:u:t:h:d:", usage: "Usage: kvmvmactivity.sh -i nfs server ip -p nfs server path -m mount point -h host -u volume uuid list -t time on ms -d suspect time\n" },
} as const;
export type ScriptName = keyof typeof SCRIPTS;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [name = "", ...args] = argv;
  if (!Object.hasOwn(SCRIPTS, name)) throw new UsageError(`usage: hb compat ${Object.keys(SCRIPTS).join("|")} ARGS…`);
  const script = SCRIPTS[name as ScriptName];
  let parsed: GetoptsResult;
  try {
    parsed = getopts(script.spec, args);
  } catch (error) {
    if (!(error instanceof GetoptsError)) throw error;
    // Upstream: an unknown flag or a missing value prints the usage and exits 1.
    deps.stdout(script.usage);
    return 1;
  }
  switch (name as ScriptName) {
    case "kvmheartbeat":
      // Upstream's dispatch: -r (read) first, then -c (fence), else write.
      return parsed.options.get("c") === true && parsed.options.get("r") !== true
        ? (await import("../compat/fence.js")).kvmheartbeatFence(parsed, deps)
        : (await import("../compat/nfs.js")).kvmheartbeat(parsed, deps);
    case "kvmspheartbeat":
      return (await import("../compat/fence.js")).kvmspheartbeat(parsed, deps);
    case "kvmvmactivity":
      return (await import("../compat/nfs.js")).kvmvmactivity(parsed, deps);
  }
}
