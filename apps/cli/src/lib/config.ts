// Configuration as the commands read it: the agent's file, or CloudStack's defaults where the
// agent itself would fall back to them.
import { loadConfig, type ConfigProblem, type HeartbeatConfig } from "@hb/config";
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
const FENCE_ACTION_KEY = /^kvm\.heartbeat\.fence\.action$/;

/** The problems on the fence path, in words; an action named by the caller makes a bad kvm.heartbeat.fence.action moot. */
export function fenceNotices(path: string, problems: readonly ConfigProblem[], options: { readonly actionGiven?: boolean } = {}): string[] {
  return problems
    .filter((problem) => FENCE_KEYS.test(problem.key) && !(options.actionGiven === true && FENCE_ACTION_KEY.test(problem.key)))
    .map((problem) => `${path}:${problem.line}: ${problem.key}: ${problem.message}`);
}

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
  const notices = [...(loaded.fileProblem === null ? [] : [loaded.fileProblem.notice]), ...fenceNotices(path, loaded.problems)];
  return { values: loaded.values, notices };
}
