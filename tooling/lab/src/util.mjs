// Small helpers of the lab: argument-array commands, hashing, a log with elapsed times.
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";

export const LAB_DIR = fileURLToPath(new URL("..", import.meta.url));
export const REPO_ROOT = join(LAB_DIR, "..", "..");

const started = performance.now();
export const elapsed = () => (performance.now() - started) / 1000;
export function say(text) {
  process.stderr.write(`lab [${elapsed().toFixed(1).padStart(6)} s] ${text}\n`);
}

export class LabError extends Error {}

/** Runs a program with an argument array; its output goes to the lab's stderr unless captured. */
export function run(file, args, { capture = false, cwd, env, input } = {}) {
  const result = spawnSync(file, args, {
    cwd,
    env: env ?? process.env,
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    stdio: [input === undefined ? "ignore" : "pipe", capture ? "pipe" : process.stderr, capture ? "pipe" : process.stderr],
  });
  if (result.error) throw new LabError(`${file}: ${result.error.message}`);
  if (result.status !== 0) {
    const tail = capture ? `: ${(result.stderr || result.stdout).trim().split("\n").slice(-5).join(" | ")}` : "";
    throw new LabError(`${file} ${args.slice(0, 4).join(" ")} … exited ${result.status ?? result.signal}${tail}`);
  }
  return result.stdout ?? "";
}

export function which(name) {
  try {
    return execFileSync("sh", ["-c", 'command -v "$1"', "sh", name], { encoding: "utf8" }).trim() || null;
  } catch {
    return null;
  }
}

/** A stable hash of files and folders (paths, modes and contents), for cache keys. */
export function hashTree(paths, hash = createHash("sha256")) {
  const visit = (path, name) => {
    if (!existsSync(path)) {
      hash.update(`missing ${name}\n`);
      return;
    }
    const st = statSync(path);
    if (st.isDirectory()) {
      for (const entry of readdirSync(path).sort()) {
        if (entry.endsWith(".map")) continue;
        visit(join(path, entry), `${name}/${entry}`);
      }
      return;
    }
    hash.update(`${name} ${st.mode & 0o111 ? "x" : "-"} ${st.size}\n`);
    hash.update(readFileSync(path));
  };
  for (const path of paths) visit(path, path.startsWith(REPO_ROOT) ? path.slice(REPO_ROOT.length) : path);
  return hash;
}

export function shortHash(...parts) {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(String(part)).update("\0");
  return hash.digest("hex").slice(0, 16);
}
