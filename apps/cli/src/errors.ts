import { HbError, isErrorCode, isHbError, type ErrorCode } from "@hb/errors";

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

/**
 * Exit codes of hb. 0 and 1 are answers: 1 is a negative one (dead, lost, key absent, problems
 * found), which `hb nfs` and `hb drbd` give for storage they judge gone, so no error may use it.
 */
export const EXIT_ERROR = 2;
export const EXIT_INTERNAL = 70;

/** The exit codes an error may have: never 0 or 1. */
export type ErrorExitCode = typeof EXIT_ERROR | typeof EXIT_INTERNAL;

// The one place where error codes become exit codes, total over ErrorCode: TypeScript refuses a
// missing code, and the value type refuses 0 and 1. Every named error stops its command with 2
// (a bad input, or something the command needs that did not answer): for `hb nfs check` and
// `hb drbd` that reads as "could not judge", never as "dead".
const EXIT_CODES: Readonly<Record<ErrorCode, ErrorExitCode>> = {
  CONFIG_FILE: EXIT_ERROR,
  PROPERTIES_SYNTAX: EXIT_ERROR,
  PROPERTY_EDIT: EXIT_ERROR,
  FILE_NOT_REGULAR: EXIT_ERROR,
  FILE_TOO_LARGE: EXIT_ERROR,
  LOCAL_FILE: EXIT_ERROR,
  STATUS_LISTEN: EXIT_ERROR,
  SCENARIO: EXIT_ERROR,
  SIMULATION_LIMIT: EXIT_ERROR,
  INVALID_HOST_ID: EXIT_ERROR,
  INVALID_MOUNT_POINT: EXIT_ERROR,
  INVALID_VOLUME: EXIT_ERROR,
  MOUNT_TABLE: EXIT_ERROR,
  REMOUNT_FAILED: EXIT_ERROR,
  PROCESS_DISCOVERY: EXIT_ERROR,
  SCAN_FAILED: EXIT_ERROR,
  DRBD_COMMAND: EXIT_ERROR,
  DRBD_OUTPUT: EXIT_ERROR,
  DRBD_NODE_NAME: EXIT_ERROR,
  LINSTOR_QUERY: EXIT_ERROR,
  FENCE_LOG: EXIT_ERROR,
  STATE_UNTRUSTED: EXIT_ERROR,
  USAGE: EXIT_ERROR,
  REFUSED: EXIT_ERROR,
  DAEMON_UNREACHABLE: EXIT_ERROR,
  DAEMON_REFUSED: EXIT_ERROR,
  ALREADY_RUNNING: EXIT_ERROR,
  CONTROL_SOCKET: EXIT_ERROR,
  CONTROL_REQUEST: EXIT_ERROR,
  LIBVIRT_UNAVAILABLE: EXIT_ERROR,
  WATCHDOG: EXIT_ERROR,
};

/** The codes the map covers, for the test that compares them with the sources. */
export const MAPPED_ERROR_CODES: readonly string[] = Object.keys(EXIT_CODES);

/**
 * A named error's exit code; EXIT_INTERNAL for anything else. A code this version does not know
 * (a newer package) is still a named error with its message: EXIT_ERROR, never 1.
 */
export function exitCodeFor(error: unknown): ErrorExitCode {
  if (!isHbError(error)) return EXIT_INTERNAL;
  return isErrorCode(error.code) ? EXIT_CODES[error.code] : EXIT_ERROR;
}
