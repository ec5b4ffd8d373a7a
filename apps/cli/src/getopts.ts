/**
 * POSIX getopts, as upstream's scripts parse their flags: options end at the first argument
 * that is not one (or at `--`); short flags combine (`-rc`); an option's value is attached
 * (`-ifoo`) or the next argument (`-i foo`). An unknown flag or a missing value is an error,
 * which the scripts answer with their usage and exit 1.
 */
export interface GetoptsResult {
  /** Last value of each option that takes one; `true` for each flag seen. */
  readonly options: ReadonlyMap<string, string | true>;
  readonly operands: readonly string[];
}

export class GetoptsError extends Error {}

export function getopts(spec: string, argv: readonly string[]): GetoptsResult {
  const takesValue = new Map<string, boolean>();
  for (let i = 0; i < spec.length; i++) {
    const letter = spec[i] as string;
    if (letter === ":") continue;
    takesValue.set(letter, spec[i + 1] === ":");
  }
  const options = new Map<string, string | true>();
  let index = 0;
  while (index < argv.length) {
    const arg = argv[index] as string;
    if (arg === "--") {
      index++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    index++;
    for (let position = 1; position < arg.length; position++) {
      const letter = arg[position] as string;
      const needsValue = takesValue.get(letter);
      if (needsValue === undefined) throw new GetoptsError(`illegal option -- ${letter}`);
      if (!needsValue) {
        options.set(letter, true);
        continue;
      }
      const attached = arg.slice(position + 1);
      if (attached !== "") {
        options.set(letter, attached);
      } else {
        const next = argv[index];
        if (next === undefined) throw new GetoptsError(`option requires an argument -- ${letter}`);
        options.set(letter, next);
        index++;
      }
      break;
    }
  }
  return { options, operands: argv.slice(index) };
}

/** The value of an option that takes one, or "" when absent (as an unset shell variable). */
export function optionValue(result: GetoptsResult, letter: string): string {
  const value = result.options.get(letter);
  return typeof value === "string" ? value : "";
}

export function flag(result: GetoptsResult, letter: string): boolean {
  return result.options.get(letter) === true;
}
