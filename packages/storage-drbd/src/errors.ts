import { HbError } from "@hb/errors";

export type DrbdCommandFailure = "timeout" | "exit" | "not-started" | "signal" | "overflow";

/**
 * drbdsetup (or hostname) did not give an answer: it ran past its deadline, printed more than hb
 * reads ("overflow": killed), exited non-zero, died of a signal or could not be started. For a heartbeat this is a failed attempt, never
 * a verdict on the storage.
 */
export class DrbdCommandError extends HbError {
  readonly command: readonly string[];
  readonly failure: DrbdCommandFailure;
  readonly exitCode: number | null;
  readonly stderr: string;
  constructor(command: readonly string[], failure: DrbdCommandFailure, message: string, details: { exitCode?: number | null; stderr?: string } = {}) {
    super("DRBD_COMMAND", message);
    this.command = command;
    this.failure = failure;
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? "";
  }
}

/** drbdsetup answered, but not in a format hb can read: refused rather than guessed at. */
export class DrbdOutputError extends HbError {
  readonly format: string;
  /** 1-based line of events2 text, when the problem is on one line. */
  readonly line: number | undefined;
  constructor(format: string, message: string, options: { line?: number; cause?: unknown } = {}) {
    super("DRBD_OUTPUT", `${format}: ${message}`, options.cause === undefined ? undefined : { cause: options.cause });
    this.format = format;
    this.line = options.line;
  }
}

/** The LINSTOR controller did not answer in time, answered with an error, or not in its format. */
export class LinstorQueryError extends HbError {
  readonly url: string;
  constructor(url: string, message: string, options?: { cause?: unknown }) {
    super("LINSTOR_QUERY", `LINSTOR controller ${url}: ${message}`, options);
    this.url = url;
  }
}

/** This host's DRBD node name could not be found (hostname failed, printed nothing, or a bad name). */
export class NodeNameError extends HbError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("DRBD_NODE_NAME", message, options);
  }
}
