import { isHbError } from "@hb/config/errors";
import { GROUPS, parseTopLevel, USAGE } from "./cli.js";
import type { RunDeps } from "./context.js";
import { EXIT_INTERNAL, exitCodeFor, UsageError } from "./errors.js";

export type { RunDeps } from "./context.js";

/** Run one hb command line; returns the exit code. Never throws, never exits the process. */
export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  try {
    const top = parseTopLevel(argv);
    if (top.kind === "help") {
      deps.stdout(USAGE);
      return 0;
    }
    if (top.kind === "version") {
      deps.stdout(`hb ${deps.version}\n`);
      return 0;
    }
    const load = Object.hasOwn(GROUPS, top.name) ? GROUPS[top.name] : undefined;
    if (load === undefined) throw new UsageError(`unknown command: hb ${argv.join(" ")} (see hb --help)`);
    return await (await load()).run(top.argv, deps);
  } catch (error) {
    if (isHbError(error)) {
      deps.stderr(`hb: ${error.message}\n`);
      return exitCodeFor(error);
    }
    deps.stderr(`hb: internal error, please report: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_INTERNAL;
  }
}
