import { DEFAULT_AGENT_PROPERTIES, readPropertiesFile, type PropertiesDocument } from "@hb/config";
import type { Clock, Executor } from "@hb/core";

/** What a command may touch. main.ts builds the real one; tests build their own. */
export interface RunDeps {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** Only the variables hb honours. */
  readonly env: { readonly AGENT_PROPS?: string | undefined };
  readonly version: string;
  /** Runs every program hb needs (storage I/O, drbdsetup, logger, systemctl) under a deadline. */
  readonly executor: Executor;
  readonly clock: Clock;
}

/** --file, else $AGENT_PROPS (the name upstream's fence helper honours), else the agent's path. */
export function propertiesPath(file: string | undefined, deps: RunDeps): string {
  return file ?? (deps.env.AGENT_PROPS || DEFAULT_AGENT_PROPERTIES);
}

/**
 * For commands that work without a file: the agent itself falls back to defaults when the
 * file is missing or unreadable, so these say so once and carry on.
 */
export async function readPropertiesOrDefaults(path: string, deps: RunDeps): Promise<PropertiesDocument | null> {
  try {
    return await readPropertiesFile(path);
  } catch (error) {
    deps.stderr(`hb: ${(error as Error).message}; using CloudStack's defaults\n`);
    return null;
  }
}
