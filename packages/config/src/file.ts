import { ConfigFileError } from "./errors.js";
import { readLocalFile, writeLocalFile } from "./files.js";
import { decodePropertiesBytes, parseProperties, type PropertiesDocument } from "./properties.js";

/** Where the agent keeps its properties. `AGENT_PROPS` overrides it (read by apps, not here). */
export const DEFAULT_AGENT_PROPERTIES = "/etc/cloudstack/agent/agent.properties";

/**
 * The largest agent.properties hb reads: the agent's own is a few KiB, with every property set
 * well under 64 KiB; past 1 MiB it is not agent.properties (or is /dev/zero behind a link).
 */
export const PROPERTIES_MAX_BYTES = 1024 * 1024;

/**
 * Read and parse a properties file. Missing or unreadable: ConfigFileError naming the path.
 * Anything but a regular file (FIFO, device, socket, folder) is a NotRegularFileError without
 * blocking; more than PROPERTIES_MAX_BYTES a FileTooLargeError. agent.properties is CloudStack's
 * file, not hb's, so a symbolic link to it is followed.
 */
export async function readPropertiesFile(path: string): Promise<PropertiesDocument> {
  let bytes: Buffer;
  try {
    bytes = await readLocalFile(path, { maxBytes: PROPERTIES_MAX_BYTES, followLinks: true });
  } catch (error) {
    throw asConfigFileError(path, error);
  }
  return parseProperties(decodePropertiesBytes(bytes));
}

/**
 * Replace a properties file atomically (writeLocalFile: a temporary file beside it with the
 * same mode and owner, fsync, rename over the target, fsync the folder). A crash leaves the old
 * or the new file, never a half-written one. A symlinked file is replaced at its target and the
 * link kept; a FIFO, device, socket or folder is never replaced (NotRegularFileError).
 */
export async function writePropertiesFile(path: string, text: string): Promise<void> {
  try {
    await writeLocalFile(path, Buffer.from(text, "latin1"), { followLinks: true });
  } catch (error) {
    throw asConfigFileError(path, error);
  }
}

// The system's refusals keep the code callers already map (CONFIG_FILE); the file-kind and size
// refusals keep their own.
function asConfigFileError(path: string, error: unknown): unknown {
  if ((error as { code?: unknown }).code !== "LOCAL_FILE") return error;
  return new ConfigFileError(path, (error as Error).message, { cause: error });
}
