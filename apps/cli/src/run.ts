import { isHbError } from "@hb/errors";
import { printable } from "@hb/core/adapters";
import { GROUPS, groupHelp, parseTopLevel, USAGE } from "./cli.js";
import type { RunDeps } from "./context.js";
import { exitCodeFor, UsageError } from "./errors.js";

export type { RunDeps } from "./context.js";

/** How errors are reported; main.ts builds it from the environment. */
export interface RunOptions {
  /** HB_DEBUG=1: the details of an error (stack, causes) on stderr, after its line. */
  readonly debug?: boolean;
  /** Keeps the details of an internal error somewhere (a file); returns where, or undefined. */
  readonly saveDetails?: (text: string) => string | undefined;
}

/** Run one hb command line; returns the exit code. Never throws, never exits the process. */
export async function run(argv: readonly string[], deps: RunDeps, options: RunOptions = {}): Promise<number> {
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
    const help = groupHelp(top.name, top.argv);
    if (help !== undefined) {
      deps.stdout(help);
      return 0;
    }
    return await (await load()).run(top.argv, deps);
  } catch (error) {
    deps.stderr(errorReport(error, argv, deps.version, options));
    return exitCodeFor(error);
  }
}

/**
 * What hb prints for an error that ends a command: one line (control characters in it made
 * visible: messages quote input), never a stack unless `debug`. An internal error (a bug: no
 * named error) also says where its details went.
 */
export function errorReport(error: unknown, argv: readonly string[], version: string, options: RunOptions = {}): string {
  if (isHbError(error)) return `hb: ${printable(error.message)}\n${options.debug === true ? `${detailsOf(error)}\n` : ""}`;
  const line = `hb: internal error (a bug in hb, please report it): ${printable(summaryOf(error))}`;
  const details = `hb ${version} internal error\nargv: ${JSON.stringify(argv)}\n${detailsOf(error)}\n`;
  if (options.debug === true) return `${line}\n${details}`;
  let saved: string | undefined;
  try {
    saved = options.saveDetails?.(details);
  } catch {
    saved = undefined;
  }
  return `${line}; ${saved === undefined ? "" : `details in ${printable(saved)}, or `}run again with HB_DEBUG=1 to print them\n`;
}

function summaryOf(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return typeof error; // an object whose toString throws
  }
}

/** The stack and the chain of causes. */
function detailsOf(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && depth < 8; depth++) {
    parts.push(current instanceof Error ? (current.stack ?? summaryOf(current)) : summaryOf(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push("caused by:");
  }
  return parts.join("\n");
}
