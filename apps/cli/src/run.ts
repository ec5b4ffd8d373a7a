import { parseCommand, USAGE, type Command } from "./cli.js";
import type { RunDeps } from "./context.js";
import { EXIT_INTERNAL, exitCodeFor } from "./errors.js";
import { isHbError } from "@hb/config";

export type { RunDeps } from "./context.js";

/** Run one hb command line; returns the exit code. Never throws, never exits the process. */
export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  try {
    return await dispatch(parseCommand(argv), deps);
  } catch (error) {
    if (isHbError(error)) {
      deps.stderr(`hb: ${error.message}\n`);
      return exitCodeFor(error);
    }
    deps.stderr(`hb: internal error, please report: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return EXIT_INTERNAL;
  }
}

// Command modules load on demand, so a command pays only for what it uses at start-up.
async function dispatch(command: Command, deps: RunDeps): Promise<number> {
  switch (command.name) {
    case "help":
      deps.stdout(USAGE);
      return 0;
    case "version":
      deps.stdout(`hb ${deps.version}\n`);
      return 0;
    case "config get":
      return (await import("./commands/config.js")).configGet(command.key, command.file, deps);
    case "config show":
      return (await import("./commands/config.js")).configShow(command.file, command.json, deps);
    case "config validate":
      return (await import("./commands/config.js")).configValidate(command.file, deps);
    case "config set":
      return (await import("./commands/config.js")).configSet(command.key, command.value, command.file, command.force, deps);
    case "config unset":
      return (await import("./commands/config.js")).configUnset(command.key, command.file, deps);
    case "simulate":
      return (await import("./commands/simulate.js")).simulateCommand(command.scenario, command.file, command.json, deps);
    case "timing explain":
      return (await import("./commands/timing.js")).timingExplain(command.file, command.json, deps);
  }
}
