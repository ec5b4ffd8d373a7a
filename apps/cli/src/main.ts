// Composition root of `hb`: the only place that reads the environment and the real streams.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { EXIT_INTERNAL } from "./errors.js";
import { errorReport, run, type RunOptions } from "./run.js";
import packageJson from "../package.json" with { type: "json" };

const argv = process.argv.slice(2);
const options: RunOptions = {
  debug: process.env.HB_DEBUG === "1",
  // A folder of its own (mode 0700, a fresh name): a file planted in /tmp cannot redirect the write.
  saveDetails: (text) => {
    const path = join(mkdtempSync(join(tmpdir(), "hb-error-")), "details.txt");
    writeFileSync(path, text, { mode: 0o600, flag: "wx" });
    return path;
  },
};

// An error outside run() (an event handler, a stray rejection): the same one line, never Node's
// dump of the minified bundle with its stack, then out at once.
const crash = (error: unknown) => {
  process.stderr.write(errorReport(error, argv, packageJson.version, options));
  process.exit(EXIT_INTERNAL);
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

const code = await run(
  argv,
  {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: { AGENT_PROPS: process.env.AGENT_PROPS },
    version: packageJson.version,
    executor: new ProcessExecutor(),
    clock: new SystemClock(),
  },
  options,
);
process.exitCode = code;
