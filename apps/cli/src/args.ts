import { parseArgs, type ParseArgsConfig } from "node:util";
import { PROPERTY_SPECS, TIMER_MAX_MS } from "@hb/config";
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

interface OptionRange {
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  readonly why: string;
}

// An option name means the same in every command, so its range lives here, once. --timeout is a
// deadline: 0 fails every operation at once, and past a timer's limit Node fires it after 1 ms.
const OPTION_RANGES: Readonly<Record<string, OptionRange>> = {
  timeout: {
    min: 1,
    max: Math.min(PROPERTY_SPECS["heartbeat.update.timeout"].max ?? TIMER_MAX_MS, TIMER_MAX_MS),
    unit: "ms",
    why: "the ceiling of heartbeat.update.timeout",
  },
};

/** A whole number of milliseconds (or seconds) given on the command line, within the option's range. */
export function wholeNumberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number, not ${JSON.stringify(value)}`);
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new UsageError(`--${name} ${value}: too large`);
  const range = OPTION_RANGES[name];
  if (range === undefined) return number;
  if (number < range.min) throw new UsageError(`--${name} ${value}: must be more than 0 ${range.unit}`);
  if (number > range.max) throw new UsageError(`--${name} ${value}: too large: at most ${range.max} ${range.unit} (${range.why})`);
  return number;
}
