import type { Executor } from "@hb/core";
import { DEFAULT_MAX_OUTPUT_BYTES } from "@hb/core/adapters";
import { DrbdCommandError, NodeNameError } from "./errors.js";
import { parseEvents2 } from "./events2.js";
import type { DrbdSnapshot } from "./model.js";
import { parseShowJson, type DrbdResourceOptions } from "./show-json.js";
import { parseStatusJson } from "./status-json.js";
import { classifyHost, type HostVerdict } from "./verdict.js";

/** How to run drbdsetup: always a child process through the Executor, under a deadline. */
export interface DrbdsetupOptions {
  readonly executor: Executor;
  /** `hb.drbd.drbdsetup`: a program name found on PATH, or a path. */
  readonly drbdsetup: string;
  /** The run fails at this deadline (killed, never awaited); the caller decides what that means. */
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** Bytes of output read per stream; past it the run is killed and fails. Default 16 MiB. */
  readonly maxOutputBytes?: number;
}

/** The host check. `--statistics` adds `congested:` and resync progress to the dump. */
export const EVENTS2_ARGS: readonly string[] = ["events2", "--now", "--statistics"];
/** The peer check, as upstream runs it. */
export const STATUS_ARGS: readonly string[] = ["status", "--json"];
/** The options check, as drbd-reactor runs it. */
export const SHOW_ARGS: readonly string[] = ["show", "--show-defaults", "--json"];

function lastLine(text: string): string {
  const lines = text.split("\n").map((line) => line.trim()).filter((line) => line !== "");
  const last = lines.at(-1) ?? "";
  return last.length > 200 ? `${last.slice(0, 200)}…` : last;
}

/**
 * Runs one program and returns its stdout, or throws {@link DrbdCommandError}: no answer by
 * the deadline (the child is killed and let go), more output than `maxOutputBytes` (killed too),
 * a non-zero exit, death by a signal, or a program that could not be started.
 */
async function runForOutput(
  executor: Executor,
  file: string,
  args: readonly string[],
  deadlineMs: number,
  signal: AbortSignal | undefined,
  exitHints: Readonly<Record<number, string>> = {},
  maxOutputBytes = DEFAULT_MAX_OUTPUT_BYTES,
): Promise<string> {
  const command = [file, ...args];
  const shown = command.join(" ");
  const result = await executor.run({ file, args, deadlineMs, maxOutputBytes, ...(signal === undefined ? {} : { signal }) });
  if (result.timedOut) {
    const why = signal?.aborted === true ? "stopped before it answered" : `no answer within ${deadlineMs} ms (killed)`;
    throw new DrbdCommandError(command, "timeout", `${shown}: ${why}`);
  }
  if (result.overflow !== undefined) {
    throw new DrbdCommandError(command, "overflow", `${shown}: printed more than ${maxOutputBytes} bytes on ${result.overflow} (killed): not drbdsetup's answer`);
  }
  const stderr = lastLine(result.stderr);
  if (result.exitCode === null && result.signal === null) {
    throw new DrbdCommandError(command, "not-started", `${shown}: could not be started (not found on PATH, or not executable)`, { stderr: result.stderr });
  }
  if (result.exitCode === null) {
    throw new DrbdCommandError(command, "signal", `${shown}: killed by ${result.signal ?? "a signal"}`, { stderr: result.stderr });
  }
  if (result.exitCode !== 0) {
    const hint = exitHints[result.exitCode] === undefined ? "" : ` (${exitHints[result.exitCode]})`;
    throw new DrbdCommandError(command, "exit", `${shown}: exit code ${result.exitCode}${hint}${stderr === "" ? "" : `: ${stderr}`}`, {
      exitCode: result.exitCode,
      stderr: result.stderr,
    });
  }
  return result.stdout;
}

// drbdsetup exits 20 when it cannot talk to the kernel module (not loaded, or not DRBD 9).
const DRBDSETUP_HINTS: Readonly<Record<number, string>> = { 20: "DRBD not available: is the drbd kernel module loaded?" };

function runDrbdsetup(options: DrbdsetupOptions, args: readonly string[]): Promise<string> {
  return runForOutput(options.executor, options.drbdsetup, args, options.deadlineMs, options.signal, DRBDSETUP_HINTS, options.maxOutputBytes);
}

/** `drbdsetup events2 --now --statistics`, parsed. */
export async function readSnapshot(options: DrbdsetupOptions): Promise<DrbdSnapshot> {
  return parseEvents2(await runDrbdsetup(options, EVENTS2_ARGS));
}

/**
 * This host's DRBD verdict with its evidence: the read behind the heartbeat target and the
 * fence verification. Throws DrbdCommandError (no answer) or DrbdOutputError (unreadable).
 */
export async function readHostHealth(options: DrbdsetupOptions): Promise<HostVerdict> {
  return classifyHost(await readSnapshot(options));
}

/** `drbdsetup status --json`, parsed: the view the peer check reads. */
export async function readStatus(options: DrbdsetupOptions): Promise<DrbdSnapshot> {
  return parseStatusJson(await runDrbdsetup(options, STATUS_ARGS));
}

/** `drbdsetup show --show-defaults --json`: quorum, on-no-quorum, on-no-data-accessible, allow-two-primaries per resource. */
export async function readResourceOptions(options: DrbdsetupOptions): Promise<DrbdResourceOptions[]> {
  return parseShowJson(await runDrbdsetup(options, SHOW_ARGS));
}

// LINSTOR node names: letters, digits, '_', '-', '.', starting with a letter or digit.
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/;

/** A DRBD/LINSTOR node name, or a NodeNameError saying why it is not one. */
export function validateNodeName(name: string, from: string): string {
  if (!NODE_NAME.test(name)) throw new NodeNameError(`${from}: ${JSON.stringify(name)} is not a DRBD/LINSTOR node name`);
  return name;
}

export interface NodeNameOptions {
  readonly executor: Executor;
  /** `hb.drbd.node.name`; null or undefined: the output of `hostname`, as upstream. */
  readonly configured: string | null | undefined;
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
}

/** This host's DRBD/LINSTOR node name: configured, else `hostname` run through the Executor. */
export async function resolveNodeName(options: NodeNameOptions): Promise<string> {
  if (options.configured !== null && options.configured !== undefined) return validateNodeName(options.configured.trim(), "hb.drbd.node.name");
  let output: string;
  try {
    output = await runForOutput(options.executor, "hostname", [], options.deadlineMs, options.signal);
  } catch (error) {
    throw new NodeNameError(`cannot find this host's DRBD node name: ${(error as Error).message}; set hb.drbd.node.name`, { cause: error });
  }
  return validateNodeName(output.trim(), "hostname");
}
