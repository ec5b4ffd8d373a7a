#!/usr/bin/env node
// Everything a fresh machine with only Node 20 (or newer) and npm needs before hb runs:
//   node scripts/setup.mjs [--quiet] [-- COMMAND ARGS...]
// 1. Node 24, pinned (packaging/node.json, the one pin the executable's build reads too), and pnpm
//    (the packageManager field, its hash the pin), both from the npm registry into .cache/toolchain
//    by `npm install` from a lock written here with those integrities, so npm checks them;
// 2. this script again on that Node, its folder first on PATH: pnpm, turbo, tsup, vitest run on 24;
// 3. the locked dependencies and a build; then COMMAND, on the same PATH.
// Each step is a no-op when done.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const readJson = (path) => JSON.parse(readFileSync(join(root, path), "utf8"));
const node = readJson("packaging/node.json");
const [, pnpmVersion, pnpmHash] = /^pnpm@([^+]+)\+sha512\.([0-9a-f]{128})$/.exec(readJson("package.json").packageManager) ?? [];
const args = process.argv.slice(2);
const rest = args.includes("--") ? args.slice(args.indexOf("--") + 1) : [];
const quiet = args.slice(0, args.includes("--") ? args.indexOf("--") : args.length).includes("--quiet");
const step = (text) => quiet || console.error(`setup: ${text}`);
const fail = (text) => {
  console.error(`setup: ${text}`);
  process.exit(1);
};
const toolchain = join(root, ".cache", "toolchain");
const bin = join(toolchain, "node_modules", ".bin");

if (pnpmVersion === undefined) fail('package.json: packageManager is not "pnpm@VERSION+sha512.HEX"');
if (process.versions.node !== node.version) {
  const binary = join(toolchain, "node_modules", `node-linux-${process.arch}`, "bin", "node");
  const pnpmManifest = join(toolchain, "node_modules", "pnpm", "package.json");
  const pnpmThere = existsSync(pnpmManifest) && JSON.parse(readFileSync(pnpmManifest, "utf8")).version === pnpmVersion;
  if (!pnpmThere || !existsSync(binary) || versionOf(binary) !== `v${node.version}`) install();
  const found = versionOf(binary);
  if (found !== `v${node.version}`) fail(`${binary} answers ${found ?? "nothing"}, not v${node.version}; remove ${toolchain} and run again`);
  const again = spawnSync(binary, [fileURLToPath(import.meta.url), ...args], { stdio: "inherit", env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? ""}` } });
  process.exit(again.status ?? 1);
}

step("installing dependencies (pnpm install --frozen-lockfile)");
run("pnpm", ["install", "--frozen-lockfile", "--reporter=silent"]);
step("building (turbo, cached when nothing changed)");
run("pnpm", ["exec", "turbo", "run", "build", "--output-logs=errors-only"]);
if (rest.length > 0) {
  // The command's own signals reach it through the process group; its status is ours.
  const command = spawnSync(rest[0], rest.slice(1), { cwd: root, stdio: "inherit" });
  if (command.error !== undefined) fail(`${rest[0]}: ${command.error.message}`);
  process.exit(command.status ?? 1);
}

function run(file, argv) {
  const result = spawnSync(file, argv, { cwd: root, stdio: quiet ? ["ignore", "ignore", "inherit"] : ["ignore", process.stderr, "inherit"] });
  if (result.status !== 0) fail(`${file} ${argv.join(" ")} failed`);
}

function versionOf(binary) {
  try {
    return execFileSync(binary, ["--version"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return null;
  }
}

/** Node and pnpm into .cache/toolchain: npm refuses a tarball whose integrity is not the lock's. */
function install() {
  const arch = process.arch;
  const nodeIntegrity = node.integrity?.[arch];
  if (process.platform !== "linux" || nodeIntegrity === undefined) fail(`no pinned Node.js for ${process.platform}-${arch} in packaging/node.json`);
  step(`fetching Node ${node.version} and pnpm ${pnpmVersion} from the npm registry`);
  const nodePackage = `node-linux-${arch}`;
  const pnpmIntegrity = `sha512-${Buffer.from(pnpmHash, "hex").toString("base64")}`;
  const tarball = (name, version) => `https://registry.npmjs.org/${name}/-/${name.split("/").pop()}-${version}.tgz`;
  const dependencies = { [nodePackage]: node.version, pnpm: pnpmVersion };
  // Into a folder of its own first: a failed fetch leaves the toolchain there was.
  const next = `${toolchain}.next`;
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  writeFileSync(join(next, "package.json"), `${JSON.stringify({ name: "hb-toolchain", private: true, dependencies }, null, 2)}\n`);
  // pnpm's native binary (an optional dependency of pnpm) is not in the lock: npm resolves it and
  // checks it against the registry's integrity; pnpm's own package is checked against the pin.
  const lock = {
    name: "hb-toolchain",
    lockfileVersion: 3,
    requires: true,
    packages: {
      "": { name: "hb-toolchain", dependencies },
      [`node_modules/${nodePackage}`]: { version: node.version, resolved: tarball(nodePackage, node.version), integrity: nodeIntegrity, bin: { node: "bin/node" }, cpu: [arch], os: ["linux"] },
      "node_modules/pnpm": { version: pnpmVersion, resolved: tarball("pnpm", pnpmVersion), integrity: pnpmIntegrity, hasInstallScript: true, bin: { pnpm: "pnpm", pn: "pn", pnpx: "pnpx", pnx: "pnx" }, optionalDependencies: { [`@pnpm/exe.linux-${arch}`]: pnpmVersion } },
    },
  };
  writeFileSync(join(next, "package-lock.json"), `${JSON.stringify(lock, null, 2)}\n`);
  const npm = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", "--no-save"], { cwd: next, stdio: ["ignore", "ignore", "pipe"], encoding: "utf8" });
  if (npm.error !== undefined) fail(`npm: ${npm.error.message} (setup needs npm, which comes with Node.js)`);
  if (npm.status !== 0) {
    // npm's code and reason, without its stack trace.
    const output = npm.stderr
      .split("\n")
      .filter((line) => /^npm error (code |\w*Error: |.*(integrity|404|complete log))/i.test(line))
      .join("\n");
    if (/EINTEGRITY/.test(output)) fail(`a tarball from the registry is not the pinned one:\n${output}`);
    fail(
      `could not fetch Node ${node.version} and pnpm ${pnpmVersion} from the npm registry.\n${output}\n` +
        "setup: connect this machine (or set a reachable registry: npm config set registry URL) and run the command again.",
    );
  }
  rmSync(toolchain, { recursive: true, force: true });
  renameSync(next, toolchain);
}
