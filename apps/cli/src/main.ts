// Composition root of `hb`: the only place that reads the environment and the real streams.
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { run } from "./run.js";
import packageJson from "../package.json" with { type: "json" };

const code = await run(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: { AGENT_PROPS: process.env.AGENT_PROPS },
  version: packageJson.version,
  executor: new ProcessExecutor(),
  clock: new SystemClock(),
});
process.exitCode = code;
