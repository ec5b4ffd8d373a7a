import { ProcessExecutor, SystemClock } from "@hb/core";
import { run, type RunDeps } from "../src/run.js";

export interface HbResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs an hb command line in-process with real adapters, capturing its output. */
export async function runHb(argv: readonly string[], overrides: Partial<RunDeps> = {}): Promise<HbResult> {
  let stdout = "";
  let stderr = "";
  const code = await run(argv, {
    stdout: (text) => void (stdout += text),
    stderr: (text) => void (stderr += text),
    env: {},
    version: "0.0.0-test",
    executor: new ProcessExecutor(),
    clock: new SystemClock(),
    ...overrides,
  });
  return { code, stdout, stderr };
}
