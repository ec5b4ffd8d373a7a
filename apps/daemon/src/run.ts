import { parseArgs } from "node:util";

export interface RunDeps {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly version: string;
}

export const USAGE = `hbd — the heartbeat monitor of a CloudStack KVM host

Usage:
  hbd --version
  hbd --help

The monitor loop is not part of this release: until it is, the CloudStack agent's own
monitor keeps running and hbd refuses to start rather than pretend to protect the host.
`;

/** Parse and run; returns the exit code. */
export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { version: { type: "boolean" }, help: { type: "boolean" } }, strict: true }));
  } catch (error) {
    deps.stderr(`hbd: ${(error as Error).message}\n`);
    return 2;
  }
  if (values.version) {
    deps.stdout(`hbd ${deps.version}\n`);
    return 0;
  }
  if (values.help) {
    deps.stdout(USAGE);
    return 0;
  }
  deps.stderr("hbd: the monitor loop is not available in this release; not starting (see hbd --help)\n");
  return 2;
}
