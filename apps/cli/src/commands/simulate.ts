import { formatSimulation, parseScenario, ScenarioError, simulate } from "@hb/core";
import { readFile } from "node:fs/promises";
import { parseCommandArgs, positionals } from "../args.js";
import { propertiesPath, readPropertiesOrDefaults, type RunDeps } from "../context.js";

const USAGE = "hb simulate SCENARIO.json [--file F] [--json]";

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { values, positionals: words } = parseCommandArgs(argv, { file: { type: "string", short: "f" }, json: { type: "boolean" } }, USAGE);
  const [scenario] = positionals(words, 1, USAGE) as [string];
  return simulateCommand(scenario, values.file, values.json ?? false, deps);
}

export async function simulateCommand(scenarioPath: string, file: string | undefined, json: boolean, deps: RunDeps): Promise<number> {
  const scenario = parseScenario(await readScenario(scenarioPath));
  const path = propertiesPath(file, deps);
  const doc = await readPropertiesOrDefaults(path, deps);
  const result = await simulate(scenario, doc?.text ?? "");
  for (const problem of result.problems) deps.stderr(`hb: ${path}:${problem.line}: ${problem.key}: ${problem.message}\n`);
  if (json) {
    const output = {
      decisions: result.decisions.map(({ atMs, target, action, isFence, mode, reason }) => ({ atMs, target, action, isFence, mode, reason })),
      events: result.events.map(({ atMs, target, from, to, reason }) => ({ atMs, target, from, to, reason })),
      withheld: result.withheld,
    };
    deps.stdout(`${JSON.stringify(output, null, 2)}\n`);
    return 0;
  }
  deps.stdout(`Simulation of ${scenarioPath} over ${scenario.durationMs / 1000} s (times from the start)\n${formatSimulation(result)}`);
  return 0;
}

async function readScenario(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new ScenarioError(`cannot read scenario ${path}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new ScenarioError(`scenario ${path} is not JSON: ${(error as Error).message}`, { cause: error });
  }
}
