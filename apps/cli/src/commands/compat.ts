import type { RunDeps } from "../context.js";
import { getopts, GetoptsError, type GetoptsResult } from "../getopts.js";
import { UsageError } from "../errors.js";
import { SCRIPTS, type ScriptName } from "../lib/scripts.js";

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
    case "kvmsmpheartbeat":
      return (await import("../compat/smp.js")).kvmsmpheartbeat(parsed, deps);
    case "kvmha-fence":
      return (await import("../compat/fence.js")).kvmhaFence(parsed, deps);
  }
}
