import { parseArgs } from "node:util";

export const USAGE = `hbd — the heartbeat monitor of a CloudStack KVM host

Usage:
  hbd [--file F] [--log-level LEVEL]   run the monitor for every pool (declared in hb.pools and found in libvirt)
  hbd --demo                           a one-minute demonstration on a temporary pool: a stall, the dry-run
                                       fence record, a recovery (no root needed)
  hbd --version | --help

The file is --file, else $AGENT_PROPS, else /etc/cloudstack/agent/agent.properties.
Signals: SIGHUP reloads the configuration (state is kept); SIGTERM/SIGINT stop cleanly.
Logs: pino JSON on stdout, one line per state change and decision (--log-level debug: every attempt).
`;

const LEVELS = ["fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LEVELS)[number];

export type DaemonCommand =
  | { readonly kind: "help" }
  | { readonly kind: "version" }
  | { readonly kind: "usage-error"; readonly message: string }
  | { readonly kind: "run"; readonly file: string | undefined; readonly logLevel: LogLevel; readonly demo: boolean };

/** Argument parsing only. */
export function parseDaemonArgs(argv: readonly string[]): DaemonCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { version: { type: "boolean" }, help: { type: "boolean" }, file: { type: "string", short: "f" }, "log-level": { type: "string" }, demo: { type: "boolean" } },
      strict: true,
    }));
  } catch (error) {
    return { kind: "usage-error", message: (error as Error).message };
  }
  if (values.version) return { kind: "version" };
  if (values.help) return { kind: "help" };
  const level = values["log-level"] ?? "info";
  if (!(LEVELS as readonly string[]).includes(level)) return { kind: "usage-error", message: `--log-level must be one of ${LEVELS.join(", ")}` };
  return { kind: "run", file: values.file, logLevel: level as LogLevel, demo: values.demo ?? false };
}
