#!/usr/bin/env node
// Compiles the native storage worker (storage-worker.c) into one static executable: hbd keeps one
// per pool alive, and a static binary shares nothing with the host's libc and keeps each small.
// Usage: node native/build.mjs [--arch x64|arm64] [--out FILE]
import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { arch } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(name);
  return at === -1 ? fallback : args[at + 1];
};
const target = option("--arch", arch());
const out = option("--out", join(here, "build", "hb-storage-worker"));
const compilers = { x64: arch() === "x64" ? "cc" : "x86_64-linux-gnu-gcc", arm64: arch() === "arm64" ? "cc" : "aarch64-linux-gnu-gcc" };
const compiler = compilers[target];
if (compiler === undefined) {
  console.error(`build.mjs: no compiler for architecture ${target} (x64 or arm64)`);
  process.exit(2);
}
mkdirSync(dirname(out), { recursive: true });
const flags = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-static", "-s", "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections"];
const result = spawnSync(compiler, [...flags, "-o", out, join(here, "storage-worker.c")], { stdio: "inherit" });
if (result.error !== undefined) {
  console.error(`build.mjs: ${compiler}: ${result.error.message}${target === "arm64" ? " (Debian: apt-get install gcc-aarch64-linux-gnu libc6-dev-arm64-cross)" : " (Debian: apt-get install gcc libc6-dev)"}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
