#!/usr/bin/env node
// `pnpm release`: hb as an operator installs it. Builds the workspace, then into packaging/dist/:
// the single executable hb-linux-<arch> (Node 24 from the npm registry with hb's bundles and a
// code cache), the native storage worker hb-storage-worker-linux-<arch> (static against musl,
// compiled with Debian's gcc, or its aarch64 cross-compiler for arm64), and hb's .deb and .rpm.
// Runs on the pinned Node 24 (`pnpm release` goes through scripts/setup.mjs).
//   node scripts/release.mjs [--arch x64,arm64] [--no-packages] [--no-build]
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { buildDeb, buildRpm, buildWorker, muslLicense, stagedFiles, stageTree } from "../packaging/build-packages.mjs";
import { buildExecutable, NODE_VERSION } from "../packaging/build-sea.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { arch: { type: "string", default: "x64,arm64" }, packages: { type: "boolean", default: true }, "no-packages": { type: "boolean" }, "no-build": { type: "boolean" } } });
const arches = values.arch.split(",").filter(Boolean);
for (const arch of arches) if (!["x64", "arm64"].includes(arch)) throw new Error(`--arch: ${arch} is not x64 or arm64`);
if (!arches.includes(process.arch)) throw new Error(`the executable of this machine (linux-${process.arch}) is built first: its --help makes the man pages`);
const outDir = join(root, "packaging", "dist");
mkdirSync(outDir, { recursive: true });
const version = JSON.parse(readFileSync(join(root, "apps/cli/package.json"), "utf8")).version;
const have = (tool) => {
  try {
    execFileSync("sh", ["-c", 'command -v "$1"', "sh", tool], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
};

if (!values["no-build"]) execFileSync("pnpm", ["exec", "turbo", "run", "build", "--filter=@hb/cli...", "--filter=@hb/daemon...", "--output-logs=errors-only"], { cwd: root, stdio: "inherit" });

// The workers first: a compile of seconds, and a missing cross-compiler is said before the executables' minutes.
const workers = {};
for (const arch of arches) {
  workers[arch] = buildWorker(arch, join(outDir, `hb-storage-worker-linux-${arch}`));
  console.log(`hb-storage-worker-linux-${arch}: ${(statSync(workers[arch]).size / 2 ** 10).toFixed(0)} KiB (static, musl, checked without running)`);
}
const built = {};
for (const arch of [process.arch, ...arches.filter((arch) => arch !== process.arch)]) {
  built[arch] = { ...(await buildExecutable(arch, outDir)), worker: workers[arch] };
  console.log(`hb-linux-${arch}: ${(statSync(built[arch].executable).size / 2 ** 20).toFixed(1)} MiB (Node ${NODE_VERSION}${arch === process.arch ? ", CLI code cache" : ", checked without running"})`);
}

if (values.packages && !values["no-packages"]) {
  for (const arch of arches) {
    const stage = stageTree(join(outDir, `stage-${arch}`), { ...built[arch], helpExecutable: built[process.arch].executable, version, musl: muslLicense() });
    const deb = buildDeb(stage, { arch, version, outDir });
    console.log(`${deb}: ${(statSync(deb).size / 2 ** 20).toFixed(1)} MiB, ${stagedFiles(stage).length} files`);
    if (have("rpmbuild")) {
      const rpm = buildRpm(stage, { arch, version, outDir });
      console.log(`${rpm}: ${(statSync(rpm).size / 2 ** 20).toFixed(1)} MiB`);
    } else {
      console.log("no rpmbuild here (Debian: apt-get install rpm): no .rpm");
    }
  }
}
