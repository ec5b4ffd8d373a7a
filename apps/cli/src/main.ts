// Composition root of `hb`: the only place that reads the environment and the real streams.
import { mkdtempSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileExecutor, ProcessExecutor, SystemClock } from "@hb/core/adapters";
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

/**
 * Straight to the descriptor, not through process.stdout/stderr (whose set-up costs a few ms of
 * every start): written whole before run() goes on, so the exit below loses nothing.
 */
const write = (fd: number, text: string) => {
  let bytes = Buffer.from(text);
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(fd, bytes));
    } catch (error) {
      // A non-blocking descriptor that is full: try again. Anything else (EPIPE: the reader is gone): drop the rest.
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN") return;
    }
  }
};

// An error outside run() (an event handler, a stray rejection): the same one line, never Node's
// dump of the minified bundle with its stack, then out at once.
const crash = (error: unknown) => {
  write(2, errorReport(error, argv, packageJson.version, options));
  process.exit(EXIT_INTERNAL);
};
process.on("uncaughtException", crash);
process.on("unhandledRejection", crash);

const code = await run(
  argv,
  {
    stdout: (text) => write(1, text),
    stderr: (text) => write(2, text),
    env: { AGENT_PROPS: process.env.AGENT_PROPS },
    version: packageJson.version,
    // One-shot commands start their children without loading child_process (the agent's reads).
    executor: new FileExecutor({ fallback: () => new ProcessExecutor() }),
    clock: new SystemClock(),
  },
  options,
);
// Everything is written: out now, without waiting for children let go of at their deadline or
// Node's teardown.
process.exit(code);
