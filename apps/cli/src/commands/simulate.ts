import { readLocalFile } from "@hb/config/files";
import { formatSimulation, parseScenario, printable, ScenarioError, simulate, SIMULATION_LIMITS } from "@hb/core";
import { parseCommandArgs, positionals } from "../args.js";
import { loadOrDefaults, propertiesPath, type RunDeps } from "../context.js";

const USAGE = "hb simulate SCENARIO.json [--file F] [--json]";

/** A scenario is a hand-written or generated timeline: far below this. */
const MAX_SCENARIO_BYTES = 4 * 1024 * 1024;

export const SIMULATE_USAGE = `hb simulate — the real heartbeat loop on a simulated clock

Usage:
  ${USAGE}
      Run SCENARIO.json (per target, phases of latency, hang, error, noQuorum, inconclusive or
      impairment from a time on; see @hb/core's README) against agent.properties (--file) and the
      scenario's own "properties", and print every state change and decision at its exact
      simulated time. --json prints them as JSON, names exact; the text shows control characters
      in names as escapes.

Limits: durationMs at most ${SIMULATION_LIMITS.maxDurationMs} ms (7 days), refused at once; at most
${SIMULATION_LIMITS.maxEvents} events (attempts, state changes, decisions), where the run stops; a
scenario file of at most ${MAX_SCENARIO_BYTES / (1024 * 1024)} MiB. Past one: a named error, exit 2.
Exit 0 when the simulation ran, 2 for a bad scenario or command line.
`;

const OPTIONS = { file: { type: "string", short: "f" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" } } as const;

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { values, positionals: words } = parseCommandArgs(argv, OPTIONS, USAGE);
  if (values.help === true) {
    deps.stdout(SIMULATE_USAGE);
    return 0;
  }
  const [scenario] = positionals(words, 1, USAGE) as [string];
  return simulateCommand(scenario, values.file, values.json ?? false, deps);
}

export async function simulateCommand(scenarioPath: string, file: string | undefined, json: boolean, deps: RunDeps): Promise<number> {
  const scenario = parseScenario(await readScenario(scenarioPath));
  const path = propertiesPath(file, deps);
  const { document } = await loadOrDefaults(path, deps);
  const result = await simulate(scenario, document?.text ?? "");
  for (const problem of result.problems) {
    // Each problem where it comes from: a line of agent.properties, or the scenario's own properties.
    const where = problem.source === "scenario" ? `${scenarioPath}: properties.${problem.key}` : `${path}:${problem.line}: ${problem.key}`;
    deps.stderr(`hb: ${printable(`${where}: ${problem.message}`)}\n`);
  }
  if (json) {
    const output = {
      decisions: result.decisions.map(({ atMs, target, action, isFence, mode, reason }) => ({ atMs, target, action, isFence, mode, reason })),
      events: result.events.map(({ atMs, target, from, to, reason }) => ({ atMs, target, from, to, reason })),
      withheld: result.withheld,
    };
    deps.stdout(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  }
  deps.stdout(`Simulation of ${printable(scenarioPath)} over ${scenario.durationMs / 1000} s (times from the start)\n${formatSimulation(result)}`);
  return 0;
}

async function readScenario(path: string): Promise<unknown> {
  let text: string;
  try {
    // The operator's own file, named on the command line: a link to it is followed.
    text = (await readLocalFile(path, { maxBytes: MAX_SCENARIO_BYTES, followLinks: true })).toString("utf8");
  } catch (error) {
    const message = (error as Error).message;
    const reason = message.startsWith(`cannot read ${path}: `) ? message.slice(`cannot read ${path}: `.length) : message;
    throw new ScenarioError(`cannot read scenario ${path}: ${reason}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`scenario ${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}
