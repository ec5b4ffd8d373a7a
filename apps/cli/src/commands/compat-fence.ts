import type { RunDeps } from "../context.js";
import type { GetoptsResult } from "../getopts.js";

/** kvmheartbeat.sh -c: the fence. */
export async function kvmheartbeatFence(_options: GetoptsResult, deps: RunDeps): Promise<number> {
  deps.stdout("hb: the -c fence path is not available in this release\n");
  return 1;
}

/** kvmspheartbeat.sh [-c]: without -c upstream does nothing and exits 0. */
export async function kvmspheartbeat(options: GetoptsResult, deps: RunDeps): Promise<number> {
  if (options.options.get("c") !== true) return 0;
  deps.stdout("hb: the -c fence path is not available in this release\n");
  return 1;
}
