// hb's shims: the agent's heartbeat scripts replaced by ones that run `hb compat …`.
import { constants, existsSync } from "node:fs";
import { link, lstat, open, rename, unlink } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { LocalFileError, readLocalFile, writeLocalFile } from "@hb/config/files";
import type { Executor } from "@hb/core";
import { RefusedError } from "../errors.js";

/**
 * Whether this hb is the single executable. node:sea has no unprefixed name, which bundlers strip
 * from builtins, so it is asked for at run time rather than imported.
 */
export function runsAsSingleExecutable(): boolean {
  const sea = process.getBuiltinModule?.("node:sea") as { isSea?: () => boolean } | undefined;
  return sea?.isSea?.() ?? false;
}

/** The agent's scripts hb stands in for, and the `hb compat` entry each one runs. */
export const SHIMMED_SCRIPTS = {
  "kvmheartbeat.sh": "kvmheartbeat",
  "kvmspheartbeat.sh": "kvmspheartbeat",
  "kvmvmactivity.sh": "kvmvmactivity",
  "kvmsmpheartbeat.sh": "kvmsmpheartbeat",
  // Sourced, not run: the scripts of PR #13090 call its fence_action (see shimText).
  "kvmha-fence.sh": "kvmha-fence",
} as const;
export type ShimmedScript = keyof typeof SHIMMED_SCRIPTS;
const NAMES = Object.keys(SHIMMED_SCRIPTS) as ShimmedScript[];
/** Shimmed only where the agent has one: a folder without the helper is complete. */
const ONLY_WHERE_PRESENT: ReadonlySet<ShimmedScript> = new Set(["kvmha-fence.sh"]);

/** The program a shim runs: `node <hb.js>`, or an hb executable given with --hb. */
export interface HbCommand {
  readonly argv: readonly string[];
}

/** This hb: the running node and the package's bin/hb.js, or the single executable itself. */
export function thisHb(): HbCommand {
  if (runsAsSingleExecutable()) return { argv: [process.execPath] };
  let dir = dirname(fileURLToPath(import.meta.url));
  // From src/lib (tests) or dist (the bundle): the package root is the first with bin/hb.js.
  while (!existsSync(join(dir, "bin", "hb.js")) && dirname(dir) !== dir) dir = dirname(dir);
  return { argv: [process.execPath, join(dir, "bin", "hb.js")] };
}

const MARKER = "# hb-shim:";
const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;

/** The whole text of a shim; a file with exactly this text is "installed and points at this hb". */
export function shimText(name: ShimmedScript, hb: HbCommand): string {
  for (const word of hb.argv) if (/[\0\n]/.test(word)) throw new RefusedError(`cannot write a shim that runs ${JSON.stringify(word)}`);
  if (name === "kvmha-fence.sh") {
    // The calling script's name (its log tag) and its $MountPoint tell hb which storage this is.
    return [
      "#!/bin/sh",
      `${MARKER} ${SHIMMED_SCRIPTS[name]}`,
      `# Written by \`hb shims install\`: upstream's ${name} is sourced by the heartbeat scripts; this fence_action runs \`hb compat kvmha-fence\` instead.`,
      `# \`hb shims uninstall\` puts the original (${name}.orig) back.`,
      "fence_action() {",
      `exec ${hb.argv.map(quote).join(" ")} compat kvmha-fence \${MountPoint:+-m "$MountPoint"} "\${1:-kvmha}"`,
      "}",
      "",
    ].join("\n");
  }
  return [
    "#!/bin/sh",
    `${MARKER} ${SHIMMED_SCRIPTS[name]}`,
    `# Written by \`hb shims install\`: runs \`hb compat ${SHIMMED_SCRIPTS[name]}\` in place of upstream's ${name}.`,
    `# \`hb shims uninstall\` puts the original (${name}.orig) back.`,
    `exec ${hb.argv.map(quote).join(" ")} compat ${SHIMMED_SCRIPTS[name]} "$@"`,
    "",
  ].join("\n");
}

/**
 * installed: hb's shim, running this hb. stale: hb's shim, running another hb (moved, or
 * another node). original: a file hb did not write (upstream's script, or one an agent
 * upgrade put back over the shim). missing: no file.
 */
export type ShimState = "installed" | "stale" | "original" | "missing";

export interface ShimStatus {
  readonly name: ShimmedScript;
  readonly path: string;
  readonly state: ShimState;
  /** NAME.orig exists. */
  readonly original: boolean;
  /** For a shim: the command line it runs. */
  readonly runs?: string;
}

export interface ShimsReport {
  readonly dir: string;
  /** Every script is hb's shim and runs this hb. */
  readonly inPlace: boolean;
  readonly scripts: readonly ShimStatus[];
}

/** Far more than any of the agent's scripts (a few KiB): a bigger file there is not one of them. */
const MAX_SCRIPT_BYTES = 1024 * 1024;

/**
 * Whether the shims are in place in `dir` and run `hb` (for `hb shims status` and `hb doctor`).
 * A script or NAME.orig that is not a regular file (a FIFO, device, socket, folder or symbolic
 * link) is a NotRegularFileError naming it: never read, never moved, never replaced.
 */
export async function inspectShims(dir: string, hb: HbCommand = thisHb()): Promise<ShimsReport> {
  const folder = resolve(dir);
  const scripts: ShimStatus[] = [];
  for (const name of NAMES) {
    const path = join(folder, name);
    const original = await regularOrAbsent(`${path}.orig`);
    const text = await readLocalFile(path, { maxBytes: MAX_SCRIPT_BYTES }).then(
      (bytes) => bytes.toString("utf8"),
      (error: unknown) => (error instanceof LocalFileError && error.errno === "ENOENT" ? null : Promise.reject(error)),
    );
    if (text === null) {
      if (!ONLY_WHERE_PRESENT.has(name) || original) scripts.push({ name, path, state: "missing", original });
    } else if (!text.split("\n", 2)[1]?.startsWith(MARKER)) {
      scripts.push({ name, path, state: "original", original });
    } else {
      const runs = text.split("\n").find((line) => line.startsWith("exec "))?.slice(5);
      scripts.push({ name, path, state: text === shimText(name, hb) ? "installed" : "stale", original, ...(runs === undefined ? {} : { runs }) });
    }
  }
  return { dir: folder, inPlace: scripts.every((script) => script.state === "installed"), scripts };
}

/**
 * Whether a regular file is at `path` (false: nothing there), read through the safe reader to
 * check it. Anything else is refused: an original that is a FIFO or a link would be moved into
 * the script's place by uninstall.
 */
async function regularOrAbsent(path: string): Promise<boolean> {
  return readLocalFile(path, { maxBytes: MAX_SCRIPT_BYTES }).then(
    () => true,
    (error: unknown) => (error instanceof LocalFileError && error.errno === "ENOENT" ? false : Promise.reject(error)),
  );
}

/**
 * Replace `path` atomically with an executable shim, through the safe writer (never over a
 * FIFO, device or link). The writer keeps an existing file's mode; the agent runs the script by
 * path, so the shim is made executable whatever the original's mode was.
 */
async function writeShim(path: string, text: string): Promise<void> {
  await writeLocalFile(path, text, { mode: 0o755 });
  // The file just written, opened without following a link or waiting on a FIFO swapped in since.
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if ((await handle.stat()).isFile()) await handle.chmod(0o755);
  } finally {
    await handle.close();
  }
}

/** `path` becomes `path.orig` without a moment where `path` is missing: link first, then replace. */
async function keepOriginal(path: string, overwrite: boolean): Promise<void> {
  if (!overwrite) return link(path, `${path}.orig`);
  const temporary = join(dirname(path), `.${process.pid}.hb-orig.tmp`);
  await link(path, temporary);
  await rename(temporary, `${path}.orig`);
}

export interface ShimChange {
  readonly name: ShimmedScript;
  readonly outcome: string;
}

/**
 * Put the shims in place, keeping each original as NAME.orig. Idempotent. Refuses, before any
 * change, to replace a file hb did not write when NAME.orig exists already (an agent upgrade
 * put a new script over the shim) unless `force`: then the new script becomes the original.
 */
export async function installShims(dir: string, options: { readonly hb?: HbCommand; readonly force?: boolean; readonly diversions?: Diversions } = {}): Promise<ShimChange[]> {
  const hb = options.hb ?? thisHb();
  const report = await inspectFolder(dir, hb);
  const refused = report.scripts.filter((script) => script.state === "original" && script.original && !options.force);
  if (refused.length > 0) {
    throw new RefusedError(
      `${refused.map((script) => script.name).join(", ")}: not hb's shim, and ${refused.map((script) => `${script.name}.orig`).join(", ")} exists already ` +
        "(did an agent upgrade replace the shim?); nothing changed. Rerun with --force to keep the current script as the original.",
    );
  }
  if (options.diversions !== undefined) await divertAll(options.diversions, report.scripts);
  const changes: ShimChange[] = [];
  for (const script of report.scripts) {
    const text = shimText(script.name, hb);
    switch (script.state) {
      case "installed":
        changes.push({ name: script.name, outcome: "already in place" });
        break;
      case "stale":
        await writeShim(script.path, text);
        changes.push({ name: script.name, outcome: `updated to run this hb (was: ${script.runs ?? "?"})` });
        break;
      case "original":
        await keepOriginal(script.path, script.original);
        await writeShim(script.path, text);
        changes.push({ name: script.name, outcome: `installed, original kept as ${script.name}.orig${script.original ? " (replacing the previous one)" : ""}` });
        break;
      case "missing":
        await writeShim(script.path, text);
        changes.push({ name: script.name, outcome: script.original ? `installed (original already at ${script.name}.orig)` : "installed (there was no original)" });
        break;
    }
  }
  return changes;
}

/**
 * Put the originals back. Idempotent. Refuses, before any change, when a script is not hb's
 * shim but NAME.orig exists: putting NAME.orig back would overwrite a file hb did not write.
 */
export async function uninstallShims(dir: string, options: { readonly hb?: HbCommand; readonly diversions?: Diversions } = {}): Promise<ShimChange[]> {
  const report = await inspectFolder(dir, options.hb ?? thisHb());
  const refused = report.scripts.filter((script) => script.state === "original" && script.original);
  if (refused.length > 0) {
    throw new RefusedError(
      `${refused.map((script) => script.name).join(", ")}: not hb's shim, yet ${refused.map((script) => `${script.name}.orig`).join(", ")} exists; ` +
        "restoring would overwrite a file hb did not write. Nothing changed; decide which one to keep and remove the other.",
    );
  }
  const changes: ShimChange[] = [];
  for (const script of report.scripts) {
    if (script.state === "installed" || script.state === "stale") {
      if (script.original) {
        await rename(`${script.path}.orig`, script.path);
        changes.push({ name: script.name, outcome: `original restored from ${script.name}.orig` });
      } else {
        await unlink(script.path);
        changes.push({ name: script.name, outcome: "shim removed (there was no original)" });
      }
    } else if (script.state === "missing" && script.original) {
      await rename(`${script.path}.orig`, script.path);
      changes.push({ name: script.name, outcome: `original restored from ${script.name}.orig` });
    } else {
      changes.push({ name: script.name, outcome: "not installed" });
    }
  }
  // The originals are back under their names first: the package database then agrees with the folder.
  if (options.diversions !== undefined) {
    for (const script of report.scripts) await options.diversions.remove(script.path, `${script.path}.orig`);
    return changes.map((change) => ({ ...change, outcome: `${change.outcome}; diversion removed` }));
  }
  return changes;
}

/**
 * The package system's record that NAME is diverted to NAME.orig, so that an upgrade of the
 * agent's package writes upstream's new script to NAME.orig and never over the shim. The file
 * itself is not moved by the package tool: hb keeps the original without a moment where the
 * script is missing.
 */
export interface Diversions {
  add(path: string, divertTo: string): Promise<void>;
  /** Idempotent: no diversion is no error. */
  remove(path: string, divertTo: string): Promise<void>;
}

/** Every script's diversion, or none: one that fails takes back those added before it. */
async function divertAll(diversions: Diversions, scripts: readonly ShimStatus[]): Promise<void> {
  const added: ShimStatus[] = [];
  try {
    for (const script of scripts) {
      await diversions.add(script.path, `${script.path}.orig`);
      added.push(script);
    }
  } catch (error) {
    for (const script of added.reverse()) await diversions.remove(script.path, `${script.path}.orig`).catch(() => undefined);
    throw error;
  }
}

/** The package that owns hb's diversions, as `dpkg-divert --list` shows it ("… by hb"). */
export const DIVERSION_PACKAGE = "hb";

/**
 * Diversions in dpkg's database, through dpkg-divert (`--package hb --no-rename`, so dpkg moves
 * no file). `admindir`: another dpkg database (dpkg-divert --admindir). rpm has no diversions:
 * there the hb package re-applies the shims after each upgrade of the agent (README, "Install").
 */
export function dpkgDiversions(options: { readonly executor: Executor; readonly deadlineMs: number; readonly admindir?: string }): Diversions {
  const divert = async (verb: "--add" | "--remove", path: string, divertTo: string) => {
    const args = [...(options.admindir === undefined ? [] : ["--admindir", options.admindir]), "--package", DIVERSION_PACKAGE, "--no-rename", "--divert", divertTo, verb, path];
    const result = await options.executor.run({ file: "dpkg-divert", args, deadlineMs: options.deadlineMs });
    const said = `${result.stderr} ${result.stdout}`.replace(/\s+/g, " ").trim();
    if (result.spawnError !== undefined) {
      throw new RefusedError(`cannot run dpkg-divert (${result.spawnError}): --divert is for dpkg systems; on rpm systems the hb package re-applies the shims after each cloudstack-agent upgrade`);
    }
    if (result.timedOut) throw new RefusedError(`dpkg-divert ${verb} ${path}: no answer within ${options.deadlineMs} ms`);
    if (result.exitCode !== 0) throw new RefusedError(`dpkg-divert ${verb} ${path} failed (exit ${result.exitCode ?? result.signal}): ${said}`);
  };
  return { add: (path, divertTo) => divert("--add", path, divertTo), remove: (path, divertTo) => divert("--remove", path, divertTo) };
}

async function inspectFolder(dir: string, hb: HbCommand): Promise<ShimsReport> {
  const folder = resolve(dir);
  const info = await lstat(folder).catch(() => null);
  if (info === null || !info.isDirectory()) throw new RefusedError(`${folder} is not a folder (the agent's scripts are in …/scripts/vm/hypervisor/kvm)`);
  return inspectShims(folder, hb);
}
