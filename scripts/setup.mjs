#!/usr/bin/env node
// Everything a fresh machine with only Node 20 and npm needs before hb runs: pnpm (pinned: newer
// majors need Node 22), the locked dependencies, and a build. Each step is a no-op when done.
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const PNPM = "10.34.9";
const quiet = process.argv.includes("--quiet");
const step = (text) => quiet || console.error(`setup: ${text}`);
const sh = (file, args) => execFileSync(file, args, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : ["ignore", process.stderr, "inherit"] });

function pnpmVersion() {
  try {
    return execFileSync("pnpm", ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

const [major] = process.versions.node.split(".").map(Number);
if (major < 20) {
  console.error(`setup: Node ${process.versions.node} is too old; hb needs Node 20.19 or newer`);
  process.exit(1);
}
if (!pnpmVersion()?.startsWith("10.")) {
  step(`installing pnpm ${PNPM} with npm`);
  sh("npm", ["install", "--global", `pnpm@${PNPM}`]);
}
step("installing dependencies (pnpm install --frozen-lockfile)");
sh("pnpm", ["install", "--frozen-lockfile", "--reporter=silent"]);
step("building (turbo, cached when nothing changed)");
sh("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only"]);
