import { ConfigFileError } from "./errors.js";
import { readPropertiesFile } from "./file.js";
import { setProperty } from "./edit.js";
import { parseProperties, type PropertiesDocument } from "./properties.js";
import { resolveConfig, type ResolvedConfig } from "./resolve.js";

/** Why agent.properties could not be used, so CloudStack's defaults stand in for it. */
export interface ConfigFileProblem {
  /** The reason, naming the path ("cannot read /etc/…: ENOENT", "… holds binary data, not properties"). */
  readonly message: string;
  /** The one line an operator reads: the reason and that the defaults are used. */
  readonly notice: string;
  /** The error behind it (ConfigFileError, NotRegularFileError, FileTooLargeError, PropertiesSyntaxError); null for binary data. */
  readonly cause: unknown;
}

export interface LoadConfigOptions {
  /**
   * What a file that cannot be used gives: `"defaults"` (the default; the agent itself runs on
   * CloudStack's defaults then) or `"throw"` (its error, for a path an operator named with --file).
   */
  readonly unusable?: "defaults" | "throw";
  /** Values applied on top of the file, as if written in it (the demo's short timings). */
  readonly overrides?: Readonly<Record<string, string>>;
}

export interface LoadedConfig extends ResolvedConfig {
  /** Why the file could not be used; null when it was. Never set with `unusable: "throw"`. */
  readonly fileProblem: ConfigFileProblem | null;
  /** The file as parsed (before overrides); null when it could not be used. */
  readonly document: PropertiesDocument | null;
}

/**
 * The one way hb and hbd load agent.properties. Missing, unreadable, not a regular file, too
 * large, a syntax error Java would refuse, or binary data: with `unusable: "defaults"`, CloudStack's
 * defaults and a fileProblem to say once; with `"throw"`, the error (binary data: ConfigFileError).
 * A value the file holds but hb cannot use is never a fileProblem: it is one of `problems`.
 */
export async function loadConfig(path: string, options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const read = await readUsableDocument(path);
  if (read.problem !== null && options.unusable === "throw") throw read.problem.cause ?? new ConfigFileError(path, read.problem.message);
  const document = read.problem === null ? read.document : null;
  const resolved = resolveConfig(withOverrides(document, options.overrides));
  return { ...resolved, fileProblem: read.problem, document };
}

type DocumentRead = { readonly document: PropertiesDocument; readonly problem: null } | { readonly document: null; readonly problem: ConfigFileProblem };

async function readUsableDocument(path: string): Promise<DocumentRead> {
  let document: PropertiesDocument;
  try {
    document = await readPropertiesFile(path);
  } catch (error) {
    return { document: null, problem: fileProblem((error as Error).message, error) };
  }
  // A binary file read as ISO-8859-1 still "parses"; the agent's file never holds NUL.
  if (document.text.includes("\0")) return { document: null, problem: fileProblem(`${path} holds binary data, not properties`, null) };
  return { document, problem: null };
}

function fileProblem(message: string, cause: unknown): ConfigFileProblem {
  return { message, notice: `${message}; using CloudStack's defaults`, cause };
}

function withOverrides(document: PropertiesDocument | null, overrides: LoadConfigOptions["overrides"]): PropertiesDocument | null {
  const entries = Object.entries(overrides ?? {});
  if (entries.length === 0) return document;
  let text = document?.text ?? "";
  for (const [key, value] of entries) text = setProperty(text, key, value).text;
  return parseProperties(text);
}
