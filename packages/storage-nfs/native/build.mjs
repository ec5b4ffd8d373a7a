#!/usr/bin/env node
// Compiles the native storage worker (storage-worker.c) into one static executable: hbd keeps one
// per pool alive, and a static binary shares nothing with the host's libc. Against musl by
// default: 87 KiB, about 90 KiB of memory per worker, where glibc's static start-up alone makes
// an 800 KiB binary holding 670 KiB.
// Usage: node native/build.mjs [--arch x64|arm64] [--libc musl|glibc|auto] [--out FILE]
//   auto (the default): musl when its headers and specs are installed, else glibc, said once.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
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
const wanted = option("--libc", "auto");
const triplets = { x64: "x86_64", arm64: "aarch64" };
const triplet = triplets[target];
if (triplet === undefined || !["musl", "glibc", "auto"].includes(wanted)) {
  console.error(`build.mjs: --arch x64|arm64 and --libc musl|glibc|auto (got ${target}, ${wanted})`);
  process.exit(2);
}
const compiler = target === arch() ? "cc" : `${triplet}-linux-gnu-gcc`;
const specs = `/usr/lib/${triplet}-linux-musl/musl-gcc.specs`;
const musl = existsSync(specs);
const installMusl = target === arch() ? "apt-get install musl-tools musl-dev" : `dpkg --add-architecture ${target} && apt-get update && apt-get install musl-dev:${target}`;
if (wanted === "musl" && !musl) {
  console.error(`build.mjs: no musl for ${target} (${specs}); Debian: ${installMusl}`);
  process.exit(1);
}
const libc = wanted === "glibc" || !musl ? "glibc" : "musl";
if (wanted === "auto" && libc === "glibc") console.error(`build.mjs: musl is not installed (${installMusl}): the worker is built against glibc, about 0.7 MB of memory per pool instead of 0.1`);
mkdirSync(dirname(out), { recursive: true });
const flags = ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Werror", "-static", "-s", "-ffunction-sections", "-fdata-sections", "-Wl,--gc-sections"];
const result = spawnSync(compiler, [...(libc === "musl" ? ["-specs", specs] : []), ...flags, "-o", out, join(here, "storage-worker.c")], { stdio: "inherit" });
if (result.error !== undefined) {
  const installGcc = target === arch() ? "apt-get install gcc libc6-dev" : `apt-get install gcc-${triplet}-linux-gnu libc6-dev-${target}-cross`;
  console.error(`build.mjs: ${compiler}: ${result.error.message} (Debian: ${installGcc})`);
  process.exit(1);
}
process.exit(result.status ?? 1);
