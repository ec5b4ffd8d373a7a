#!/usr/bin/env node
// CI's check that hb's libraries install on their own: packs @hb/config, @hb/storage-drbd and
// the @hb packages they depend on (pnpm pack, as publishing would), installs the tarballs with
// npm into a copy of this folder outside the repository (no workspace, no links), then
// type-checks src/main.ts against the installed types and runs it.
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const root = join(here, "..", "..");
// What the two depend on, down to the leaves: @hb/config → @hb/errors; @hb/storage-drbd → @hb/config, @hb/core.
const PACKAGES = ["errors", "config", "core", "storage-drbd"];
const TYPESCRIPT = "6.0.3";
const TYPES_NODE = "24.19.4";
const run = (file, args, cwd) => execFileSync(file, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });

const work = mkdtempSync(join(tmpdir(), "hb-consumer-"));
try {
  const packs = join(work, "packs");
  for (const name of PACKAGES) run("pnpm", ["pack", "--pack-destination", packs], join(root, "packages", name));
  const tarballs = readdirSync(packs).map((file) => join(packs, file));
  const app = join(work, "app");
  cpSync(here, app, { recursive: true, filter: (source) => !/\/(node_modules|dist)$/.test(source) });
  // The tarballs themselves satisfy each other's dependencies: no @hb package comes from a registry.
  run("npm", ["install", "--no-audit", "--no-fund", "--no-package-lock", ...tarballs, `typescript@${TYPESCRIPT}`, `@types/node@${TYPES_NODE}`], app);
  run("npx", ["--no-install", "tsc", "-p", "."], app);
  run("node", ["dist/main.js"], app);
  console.log("consumer: @hb/config and @hb/storage-drbd installed from their tarballs, type-checked and run");
} finally {
  rmSync(work, { recursive: true, force: true });
}
