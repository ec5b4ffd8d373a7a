import { chmod, chown, open, readFile, realpath, rename, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ConfigFileError } from "./errors.js";
import { decodePropertiesBytes, parseProperties, type PropertiesDocument } from "./properties.js";

/** Where the agent keeps its properties. `AGENT_PROPS` overrides it (read by apps, not here). */
export const DEFAULT_AGENT_PROPERTIES = "/etc/cloudstack/agent/agent.properties";

/** Read and parse a properties file. Missing or unreadable: ConfigFileError naming the path. */
export async function readPropertiesFile(path: string): Promise<PropertiesDocument> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : ((error as Error).message ?? String(error));
    throw new ConfigFileError(path, `cannot read ${path}: ${reason}`, { cause: error });
  }
  return parseProperties(decodePropertiesBytes(bytes));
}

/**
 * Replace a properties file atomically: a temporary file beside it with the same mode and
 * owner, fsync, rename over the target, fsync the folder. A crash leaves the old or the new
 * file, never a half-written one. A symlinked file is replaced at its target.
 */
export async function writePropertiesFile(path: string, text: string): Promise<void> {
  const target = await realpath(path).catch(() => path);
  const previous = await stat(target).catch(() => undefined);
  // Loaded here, not at start-up: only an edit needs it, and every hb start pays for its imports.
  const { randomBytes } = await import("node:crypto");
  const temporary = join(dirname(target), `.${basename(target)}.hb-${randomBytes(6).toString("hex")}`);
  try {
    const handle = await open(temporary, "wx", previous?.mode ?? 0o644);
    try {
      await handle.writeFile(Buffer.from(text, "latin1"));
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (previous !== undefined) {
      await chmod(temporary, previous.mode & 0o7777);
      await chown(temporary, previous.uid, previous.gid).catch(() => undefined); // only root may; same owner otherwise
    }
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw new ConfigFileError(path, `cannot write ${path}: ${(error as Error).message}`, { cause: error });
  }
  const folder = await open(dirname(target), "r");
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}
