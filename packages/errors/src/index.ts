/**
 * Every error code of every hb package and app. The CLI's exit-code map is a
 * `Record<ErrorCode, …>`, so a code added here without an exit code is a compile error, and
 * apps/cli's errors.test.ts walks the sources and fails on a code thrown but missing here.
 */
export const ERROR_CODES = [
  // @hb/config
  "CONFIG_FILE",
  "PROPERTIES_SYNTAX",
  "PROPERTY_EDIT",
  "FILE_NOT_REGULAR",
  "FILE_TOO_LARGE",
  "LOCAL_FILE",
  "STATUS_LISTEN",
  // @hb/core
  "SCENARIO",
  "SIMULATION_LIMIT",
  // @hb/storage-nfs
  "INVALID_HOST_ID",
  "INVALID_MOUNT_POINT",
  "INVALID_VOLUME",
  "MOUNT_TABLE",
  "REMOUNT_FAILED",
  "PROCESS_DISCOVERY",
  "SCAN_FAILED",
  // @hb/storage-drbd
  "DRBD_COMMAND",
  "DRBD_OUTPUT",
  "DRBD_NODE_NAME",
  "LINSTOR_QUERY",
  // @hb/fence
  "FENCE_LOG",
  "STATE_UNTRUSTED",
  // hb
  "USAGE",
  "REFUSED",
  "DAEMON_UNREACHABLE",
  "DAEMON_REFUSED",
  // hbd
  "ALREADY_RUNNING",
  "CONTROL_SOCKET",
  "CONTROL_REQUEST",
  "LIBVIRT_UNAVAILABLE",
  "WATCHDOG",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

const KNOWN_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/** Whether `code` is one this version of hb declares (an error from a newer package may carry another). */
export function isErrorCode(code: string): code is ErrorCode {
  return KNOWN_CODES.has(code);
}

/**
 * The one error base of hb. `code` is stable (logs, metrics and the CLI's exit-code map key on
 * it); `instanceof` is not relied on, since two copies of a package can exist in one tree.
 */
export class HbError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * An error shaped as hb's (a string `code`, a name), whichever copy of this package made it. Its
 * code may be one this version does not declare: check it with `isErrorCode` before keying on it.
 */
export function isHbError(error: unknown): error is HbError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string" && "name" in error;
}
