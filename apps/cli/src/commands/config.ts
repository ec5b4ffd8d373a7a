import {
  PROPERTY_KEYS,
  PROPERTY_SPECS,
  isPropertyKey,
  loadConfig,
  parseProperties,
  readPropertiesFile,
  resolveConfig,
  setProperty,
  unsetProperty,
  writePropertiesFile,
  type ConfigProblem,
  type ResolvedConfig,
} from "@hb/config";
import { parseCommandArgs, positionals } from "../args.js";
import { propertiesPath, type RunDeps } from "../context.js";
import { RefusedError, UsageError } from "../errors.js";

const OPTIONS = { file: { type: "string", short: "f" }, json: { type: "boolean" }, force: { type: "boolean" } } as const;
const USAGES: Record<string, string> = {
  get: "hb config get KEY [--file F]",
  show: "hb config show [--file F] [--json]",
  validate: "hb config validate [--file F]",
  set: "hb config set KEY VALUE [--file F] [--force]",
  unset: "hb config unset KEY [--file F]",
};
const ALLOWED: Record<string, readonly string[]> = { get: ["file"], show: ["file", "json"], validate: ["file"], set: ["file", "force"], unset: ["file"] };

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [verb = "", ...rest] = argv;
  const usage = USAGES[verb];
  if (usage === undefined) throw new UsageError(`unknown command: hb config ${argv.join(" ")} (hb config show|validate|get|set|unset)`);
  const { values, positionals: words } = parseCommandArgs(rest, OPTIONS, usage);
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && !ALLOWED[verb]?.includes(name)) throw new UsageError(`hb config ${verb} does not take --${name} (usage: ${usage})`);
  }
  const file = values.file;
  switch (verb) {
    case "get":
      return configGet(positionals(words, 1, usage)[0] as string, file, deps);
    case "show":
      positionals(words, 0, usage);
      return configShow(file, values.json ?? false, deps);
    case "validate":
      positionals(words, 0, usage);
      return configValidate(file, deps);
    case "set": {
      const [key, value] = positionals(words, 2, usage) as [string, string];
      return configSet(key, value, file, values.force ?? false, deps);
    }
    default:
      return configUnset(positionals(words, 1, usage)[0] as string, file, deps);
  }
}

export async function configGet(key: string, file: string | undefined, deps: RunDeps): Promise<number> {
  const entry = (await readPropertiesFile(propertiesPath(file, deps))).get(key);
  if (entry === undefined) return 1;
  deps.stdout(`${entry.value}\n`);
  return 0;
}

export async function configShow(file: string | undefined, json: boolean, deps: RunDeps): Promise<number> {
  const path = propertiesPath(file, deps);
  // The file shown must be usable: its error otherwise, never the defaults in its place.
  const resolved = await loadConfig(path, { unusable: "throw" });
  if (json) {
    deps.stdout(`${JSON.stringify(showJson(path, resolved), null, 2)}\n`);
    return 0;
  }
  const width = Math.max(...PROPERTY_KEYS.map((key) => key.length));
  const lines = PROPERTY_KEYS.map((key) => {
    const source = resolved.sources[key];
    const where = source.kind === "file" ? `line ${source.line}` : "default";
    return `${key.padEnd(width)}  ${formatValue(resolved.values[key], PROPERTY_SPECS[key].unit).padEnd(16)}  ${where}`;
  });
  deps.stdout(`${path}\n${lines.join("\n")}\n`);
  if (resolved.problems.length > 0) {
    deps.stdout(`\n${resolved.problems.length} problem(s):\n${resolved.problems.map((p) => `  ${formatProblem(path, p)}`).join("\n")}\n`);
  }
  return 0;
}

export async function configValidate(file: string | undefined, deps: RunDeps): Promise<number> {
  const path = propertiesPath(file, deps);
  const { problems } = await loadConfig(path, { unusable: "throw" });
  if (problems.length === 0) {
    deps.stdout(`${path}: no problems\n`);
    return 0;
  }
  deps.stdout(problems.map((problem) => `${formatProblem(path, problem)}\n`).join(""));
  return 1;
}

export async function configSet(key: string, value: string, file: string | undefined, force: boolean, deps: RunDeps): Promise<number> {
  const path = propertiesPath(file, deps);
  const text = (await readPropertiesFile(path)).text;
  const edit = setProperty(text, key, value);
  const problems = problemsOf(key, text, edit.text);
  // A value hb would not take as written is refused: writing it would leave a silent fallback.
  // One that no part of hb can use (past a timer's limit, a control character) is refused even
  // with --force: the agent or an older hb would read it and misbehave.
  const unusable = problems.some((problem) => problem.kind === "unusable");
  if (problems.length > 0 && (!force || unusable)) {
    const reasons = problems.map((p) => (p.key === key ? p.message : `${p.key}: ${p.message}`)).join("; ");
    throw new RefusedError(`${key}=${printable(value)} refused: ${reasons}${unusable ? "" : " (--force writes it anyway)"}`);
  }
  if (edit.changed) await writePropertiesFile(path, edit.text);
  const line = resolveLine(key, edit.text);
  deps.stdout(`${path}:${line}: ${key}=${value}${edit.changed ? "" : " (unchanged)"}\n`);
  for (const problem of problems) deps.stderr(`hb: ${formatProblem(path, problem)}\n`);
  return 0;
}

export async function configUnset(key: string, file: string | undefined, deps: RunDeps): Promise<number> {
  const path = propertiesPath(file, deps);
  const text = (await readPropertiesFile(path)).text;
  const edit = unsetProperty(text, key);
  if (edit.changed) await writePropertiesFile(path, edit.text);
  const fallback = isPropertyKey(key) ? `; the default ${String(PROPERTY_SPECS[key].defaultValue)} applies` : "";
  deps.stdout(edit.changed ? `${path}: ${key} removed${fallback}\n` : `${path}: ${key} was not set\n`);
  return 0;
}

/** The problems of the edited key, and those the edit gives other keys (hb.status.allow.remote off under a remote hb.status.listen). */
function problemsOf(key: string, before: string, after: string): ConfigProblem[] {
  const existing = new Set(resolveConfig(parseProperties(before)).problems.map((problem) => `${problem.key}\n${problem.message}`));
  return resolveConfig(parseProperties(after)).problems.filter(
    (problem) => problem.kind !== "duplicate" && (problem.key === key || !existing.has(`${problem.key}\n${problem.message}`)),
  );
}

// One line per message: a value with a newline or an escape sequence is shown quoted.
function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(value) ? JSON.stringify(value) : value;
}

function resolveLine(key: string, text: string): number {
  return parseProperties(text).get(key)?.line ?? 0;
}

function showJson(path: string, resolved: ResolvedConfig) {
  const sources = Object.fromEntries(
    PROPERTY_KEYS.map((key) => {
      const source = resolved.sources[key];
      return [key, source.kind === "file" ? { line: source.line } : "default"];
    }),
  );
  return { file: path, values: resolved.values, sources, problems: resolved.problems };
}

export function formatProblem(path: string, problem: ConfigProblem): string {
  return `${path}:${problem.line}: ${problem.key}: ${problem.message}`;
}

function formatValue(value: unknown, unit: string): string {
  if (value === null) return "(not set)";
  if (unit === "ms" || unit === "s") return `${String(value)} ${unit}`;
  return String(value);
}
