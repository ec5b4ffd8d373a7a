import { HbError } from "@hb/errors";

// HbError lives in the leaf @hb/errors; these re-exports keep `@hb/config/errors` imports working.
export { HbError, isHbError, isErrorCode, ERROR_CODES, type ErrorCode } from "@hb/errors";

/** The properties file cannot be read as java.util.Properties would (it would throw too). */
export class PropertiesSyntaxError extends HbError {
  readonly line: number;
  constructor(message: string, line: number, options?: { cause?: unknown }) {
    super("PROPERTIES_SYNTAX", message, options);
    this.line = line;
  }
}

/** The properties file is missing or unreadable. */
export class ConfigFileError extends HbError {
  readonly path: string;
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("CONFIG_FILE", message, options);
    this.path = path;
  }
}

/** What a path names when it is not a regular file (`lstat`'s view, or the link when links are not followed). */
export type FileKind = "folder" | "FIFO" | "socket" | "character device" | "block device" | "symbolic link" | "special file";

/**
 * A local file hb reads or writes is not a regular file: a FIFO (reading it would block), a
 * device (/dev/zero never ends; replacing /dev/null breaks the host), a socket, a folder, or a
 * symbolic link where hb does not follow links. Nothing was read, opened for writing or replaced.
 */
export class NotRegularFileError extends HbError {
  readonly path: string;
  readonly kind: FileKind;
  constructor(path: string, kind: FileKind, message: string) {
    super("FILE_NOT_REGULAR", message);
    this.path = path;
    this.kind = kind;
  }
}

/** A local file is larger than its reader's cap; nothing past the cap was read. */
export class FileTooLargeError extends HbError {
  readonly path: string;
  readonly maxBytes: number;
  constructor(path: string, maxBytes: number, message: string) {
    super("FILE_TOO_LARGE", message);
    this.path = path;
    this.maxBytes = maxBytes;
  }
}

/**
 * The system refused a local read or write (missing file, permission, I/O error, full or
 * read-only file system). `errno` is the system's code (`ENOENT`, `EACCES`…) when there is one.
 */
export class LocalFileError extends HbError {
  readonly path: string;
  readonly errno: string | undefined;
  constructor(path: string, message: string, options?: { cause?: unknown; errno?: string | undefined }) {
    super("LOCAL_FILE", message, options);
    this.path = path;
    this.errno = options?.errno;
  }
}

/** A key or value that cannot be written into a properties file as asked. */
export class PropertyEditError extends HbError {
  constructor(message: string) {
    super("PROPERTY_EDIT", message);
  }
}
