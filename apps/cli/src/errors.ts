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

/**
 * Exit codes of hb. 0 and 1 are answers: 1 is a negative one (dead, lost, key absent, problems
 * found), which `hb nfs` and `hb drbd` give for storage they judge gone, so no error may use it.
 */
export const EXIT_ERROR = 2;
export const EXIT_INTERNAL = 70;

/** The exit codes an error may have: never 0 or 1. */
export type ErrorExitCode = typeof EXIT_ERROR | typeof EXIT_INTERNAL;

/**
 * Every error code of every hb package and app. errors.test.ts walks their sources and fails on a
 * code missing here, so that a new error cannot fall through to an exit code it does not mean.
 */
export type ErrorCode =
  // @hb/config
  | "CONFIG_FILE"
  | "PROPERTIES_SYNTAX"
  | "PROPERTY_EDIT"
  | "FILE_NOT_REGULAR"
  | "FILE_TOO_LARGE"
  | "LOCAL_FILE"
  | "STATUS_LISTEN"
  // @hb/core
  | "SCENARIO"
  | "SIMULATION_LIMIT"
  // @hb/storage-nfs
  | "INVALID_HOST_ID"
  | "INVALID_MOUNT_POINT"
  | "INVALID_VOLUME"
  | "MOUNT_TABLE"
  | "REMOUNT_FAILED"
  | "PROCESS_DISCOVERY"
  | "SCAN_FAILED"
  // @hb/storage-drbd
  | "DRBD_COMMAND"
  | "DRBD_OUTPUT"
  | "DRBD_NODE_NAME"
  | "LINSTOR_QUERY"
  // @hb/fence
  | "FENCE_LOG"
  | "STATE_UNTRUSTED"
  // hb
  | "USAGE"
  | "REFUSED"
  | "DAEMON_UNREACHABLE"
  | "DAEMON_REFUSED"
  // hbd (its own errors; listed so that the map covers every code hb has)
  | "ALREADY_RUNNING"
  | "CONTROL_SOCKET"
  | "CONTROL_REQUEST"
  | "LIBVIRT_UNAVAILABLE"
  | "WATCHDOG";

// The one place where error codes become exit codes, total over ErrorCode: TypeScript refuses a
// missing code, and the value type refuses 0 and 1. Every named error stops its command with 2
// (a bad input, or something the command needs that did not answer): for `hb nfs check` and
// `hb drbd` that reads as "could not judge", never as "dead".
const EXIT_CODES: { readonly [Code in ErrorCode]: ErrorExitCode } = {
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

function isErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(EXIT_CODES, code);
}

/**
 * A named error's exit code; EXIT_INTERNAL for anything else. A code this version does not know
 * (a newer package) is still a named error with its message: EXIT_ERROR, never 1.
 */
export function exitCodeFor(error: unknown): ErrorExitCode {
  if (!isHbError(error)) return EXIT_INTERNAL;
  return isErrorCode(error.code) ? EXIT_CODES[error.code] : EXIT_ERROR;
}
