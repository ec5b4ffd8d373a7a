import { HbError, isHbError } from "@hb/config/errors";

/** The command line is not one hb understands. */
export class UsageError extends HbError {
  constructor(message: string) {
    super("USAGE", message);
  }
}

/** A value refused before anything was written. */
export class RefusedError extends HbError {
  constructor(message: string) {
    super("REFUSED", message);
  }
}

// The one place where error codes become exit codes. 1 is kept for a negative answer
// (key absent, problems found); errors that stop a command are 2.
const EXIT_CODES: Record<string, number> = {
  USAGE: 2,
  CONFIG_FILE: 2,
  PROPERTIES_SYNTAX: 2,
  PROPERTY_EDIT: 2,
  REFUSED: 2,
  SCENARIO: 2,
  DAEMON_UNREACHABLE: 2,
  DAEMON_REFUSED: 2,
  DRBD_COMMAND: 2,
  DRBD_OUTPUT: 2,
  DRBD_NODE_NAME: 2,
  FENCE_LOG: 2,
};
export const EXIT_INTERNAL = 70;

export function exitCodeFor(error: unknown): number {
  return isHbError(error) ? (EXIT_CODES[error.code] ?? 1) : EXIT_INTERNAL;
}
