import type { ExecResult, Executor } from "@hb/core";

/** The syslog tag of every fence line, as upstream's scripts use it. */
export const SYSLOG_TAG = "heartbeat";

/**
 * One line to syslog through `logger -t heartbeat` (found on PATH), bounded: a logger stuck on
 * a full journal or a dead /dev/log never holds the action.
 */
export function sendSyslog(executor: Executor, line: string, priority: string | undefined, deadlineMs: number): Promise<ExecResult> {
  const args = ["-t", SYSLOG_TAG, ...(priority === undefined ? [] : ["-p", priority]), "--", line];
  return executor.run({ file: "logger", args, deadlineMs });
}

/** A process result in a few words, for step reports. */
export function describeExec(program: string, result: ExecResult, deadlineMs: number): string {
  if (result.timedOut) return `${program} gave no answer within ${deadlineMs} ms; abandoned`;
  const firstLine = (result.stderr || result.stdout).trim().split("\n")[0] ?? "";
  if (result.exitCode === 0) return `${program}: ok`;
  const status = result.exitCode === null ? `killed by ${result.signal ?? "a signal"}` : `exit ${result.exitCode}`;
  return `${program}: ${status}${firstLine === "" ? "" : ` (${firstLine})`}`;
}
