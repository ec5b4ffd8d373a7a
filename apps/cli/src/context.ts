import { DEFAULT_AGENT_PROPERTIES, loadConfig, type LoadedConfig } from "@hb/config";
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
 * file is missing or unusable, so these say so once and carry on. An operator's explicit --file
 * must be usable (its error otherwise).
 */
export async function loadCommandConfig(file: string | undefined, deps: RunDeps): Promise<LoadedConfig> {
  const path = propertiesPath(file, deps);
  if (file !== undefined) return loadConfig(path, { unusable: "throw" });
  return loadOrDefaults(path, deps);
}

/** The file at path, or CloudStack's defaults, said once on stderr. */
export async function loadOrDefaults(path: string, deps: RunDeps): Promise<LoadedConfig> {
  const loaded = await loadConfig(path);
  if (loaded.fileProblem !== null) deps.stderr(`hb: ${loaded.fileProblem.notice}\n`);
  return loaded;
}
