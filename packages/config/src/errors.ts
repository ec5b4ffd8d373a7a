/**
 * The one error base of hb. `code` is stable (logs, metrics and the CLI's exit-code map key on
 * it); `instanceof` is not relied on, since two copies of a package can exist in one tree.
 */
export class HbError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

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

/** A key or value that cannot be written into a properties file as asked. */
export class PropertyEditError extends HbError {
  constructor(message: string) {
    super("PROPERTY_EDIT", message);
  }
}

export function isHbError(error: unknown): error is HbError {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string" && "name" in error;
}
