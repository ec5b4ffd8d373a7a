import { parseArgs } from "node:util";
import { UsageError } from "./errors.js";

export type Command =
  | { readonly name: "help"; readonly topic?: string }
  | { readonly name: "version" }
  | { readonly name: "config get"; readonly key: string; readonly file?: string }
  | { readonly name: "config show"; readonly file?: string; readonly json: boolean }
  | { readonly name: "config validate"; readonly file?: string }
  | { readonly name: "config set"; readonly key: string; readonly value: string; readonly file?: string; readonly force: boolean }
  | { readonly name: "config unset"; readonly key: string; readonly file?: string }
  | { readonly name: "timing explain"; readonly file?: string; readonly json: boolean }
  | { readonly name: "simulate"; readonly scenario: string; readonly file?: string; readonly json: boolean };

export const USAGE = `hb — the storage heartbeat of CloudStack KVM hosts

Usage:
  hb config show     [--file F] [--json]   every heartbeat setting, its effective value and source
  hb config validate [--file F]            problems as FILE:LINE: KEY: message (exit 1 if any)
  hb config get KEY  [--file F]            the raw value as Java reads it (exit 1 if absent)
  hb config set KEY VALUE [--file F] [--force]
  hb config unset KEY [--file F]
  hb timing explain  [--file F] [--json]   the timeline from last good heartbeat to fence
  hb simulate SCENARIO.json [--file F] [--json]
                                           run the real loop on a simulated clock: state changes and decisions
  hb --version

The file is --file, else $AGENT_PROPS, else /etc/cloudstack/agent/agent.properties.
`;

const OPTIONS = {
  file: { type: "string", short: "f" },
  json: { type: "boolean" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean", short: "V" },
} as const;

/** Argument parsing only: turn argv into a Command or a UsageError. */
export function parseCommand(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.version) return { name: "version" };
  const [group, verb, ...rest] = positionals;
  if (values.help || group === undefined || group === "help") return { name: "help" };
  const file = values.file;
  const withFile = file === undefined ? {} : { file };
  const json = values.json ?? false;
  const expect = (count: number, shape: string): string[] => {
    if (rest.length !== count) throw new UsageError(`usage: hb ${group} ${verb} ${shape}`.trimEnd());
    return rest;
  };
  const allowOnly = (...allowed: (keyof typeof OPTIONS)[]) => {
    for (const [name, value] of Object.entries(values)) {
      if (value !== undefined && !allowed.includes(name as keyof typeof OPTIONS)) {
        throw new UsageError(`hb ${group} ${verb} does not take --${name}`);
      }
    }
  };

  if (group === "simulate") {
    allowOnly("file", "json");
    if (verb === undefined || rest.length > 0) throw new UsageError("usage: hb simulate SCENARIO.json [--file F] [--json]");
    return { name: "simulate", scenario: verb, json, ...withFile };
  }
  switch (`${group} ${verb ?? ""}`) {
    case "config get": {
      allowOnly("file");
      const [key] = expect(1, "KEY [--file F]");
      return { name: "config get", key: key as string, ...withFile };
    }
    case "config show":
      allowOnly("file", "json");
      expect(0, "[--file F] [--json]");
      return { name: "config show", json, ...withFile };
    case "config validate":
      allowOnly("file");
      expect(0, "[--file F]");
      return { name: "config validate", ...withFile };
    case "config set": {
      allowOnly("file", "force");
      const [key, value] = expect(2, "KEY VALUE [--file F] [--force]");
      return { name: "config set", key: key as string, value: value as string, force: values.force ?? false, ...withFile };
    }
    case "config unset": {
      allowOnly("file");
      const [key] = expect(1, "KEY [--file F]");
      return { name: "config unset", key: key as string, ...withFile };
    }
    case "timing explain":
      allowOnly("file", "json");
      expect(0, "[--file F] [--json]");
      return { name: "timing explain", json, ...withFile };
    default:
      throw new UsageError(`unknown command: hb ${positionals.join(" ")} (see hb --help)`);
  }
}
