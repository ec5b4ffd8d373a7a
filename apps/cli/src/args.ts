import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./errors.js";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** parseArgs for one command, with its own options; any mistake is a UsageError naming the usage. */
export function parseCommandArgs<O extends Options>(argv: readonly string[], options: O, usage: string) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message} (usage: ${usage})`);
  }
}

/** Exactly `count` positionals, or a UsageError. */
export function positionals(values: readonly string[], count: number, usage: string): string[] {
  if (values.length !== count) throw new UsageError(`usage: ${usage}`);
  return [...values];
}

/** A whole number of milliseconds (or seconds) given on the command line. */
export function wholeNumberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number, not ${JSON.stringify(value)}`);
  return Number(value);
}
