import type { RunDeps } from "../context.js";
import { UsageError } from "../errors.js";

export async function run(argv: readonly string[], _deps: RunDeps): Promise<number> {
  throw new UsageError(`hb shims is not available in this release (${argv.join(" ")})`);
}
