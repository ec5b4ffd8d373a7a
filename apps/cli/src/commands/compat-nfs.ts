import type { RunDeps } from "../context.js";
import type { GetoptsResult } from "../getopts.js";

/** kvmheartbeat.sh without -c: write (default) or read (-r). */
export async function kvmheartbeat(_options: GetoptsResult, deps: RunDeps): Promise<number> {
  deps.stdout("hb: kvmheartbeat write/read modes are not available in this release\n");
  return 1;
}

/** kvmvmactivity.sh. */
export async function kvmvmactivity(_options: GetoptsResult, deps: RunDeps): Promise<number> {
  deps.stdout("hb: kvmvmactivity is not available in this release\n");
  return 2;
}
