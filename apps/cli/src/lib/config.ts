// Configuration as the commands read it: the agent's file, or CloudStack's defaults where the
// agent itself would fall back to them.
import { loadConfig, type HeartbeatConfig } from "@hb/config";
import { loadOrDefaults, propertiesPath, type RunDeps } from "../context.js";

/** The effective configuration hb and hbd share, from --file / AGENT_PROPS / the default path. */
export async function sharedConfig(file: string | undefined, deps: RunDeps) {
  return (await loadOrDefaults(propertiesPath(file, deps), deps)).values;
}

/** Settings for the entry points, read without a word before the verdict line (see compat-nfs). */
export async function quietConfig(deps: RunDeps): Promise<{ readonly config: HeartbeatConfig; readonly note: string | null }> {
  const loaded = await loadConfig(propertiesPath(undefined, deps));
  return { config: loaded.values, note: loaded.fileProblem?.notice ?? null };
}

// Settings whose problems are worth a notice on the fence path.
export const FENCE_KEYS = /^(kvm\.heartbeat\.fence\.(action|custom\.script)|hb\.fence\.|hb\.state\.dir|hb\.watchdog\.device)/;

export interface ScriptConfig {
  readonly values: HeartbeatConfig;
  /** Problems on the fence path, in words: a missing file, an unknown action read as reboot. */
  readonly notices: readonly string[];
}

/**
 * The configuration of a fence run started by the agent: a missing or unreadable file means
 * CloudStack's defaults, so the host is still fenced. Never throws.
 */
export async function readScriptConfig(path: string): Promise<ScriptConfig> {
  const loaded = await loadConfig(path);
  const notices = loaded.fileProblem === null ? [] : [loaded.fileProblem.notice];
  for (const problem of loaded.problems) {
    if (FENCE_KEYS.test(problem.key)) notices.push(`${path}:${problem.line}: ${problem.key}: ${problem.message}`);
  }
  return { values: loaded.values, notices };
}
