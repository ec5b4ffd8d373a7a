// hb's single executable: Node 24 from the npm registry with a small main script (sea/main.cjs)
// and hb's CLI and daemon as two CommonJS bundles in its assets, the CLI's with a V8 code cache;
// injected with postject (Node's SEA).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const require = createRequire(import.meta.url);
const pinned = JSON.parse(readFileSync(join(root, "packaging", "node.json"), "utf8"));
export const NODE_VERSION = pinned.version;
const cache = join(root, "packaging", ".cache");
const SENTINEL = "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2";

const run = (file, args, options = {}) => execFileSync(file, args, { stdio: "inherit", ...options });

/**
 * The node binary of `arch`, from the registry's node-linux-<arch> package: npm checks the
 * tarball against the registry's integrity, and this against the one pinned in node.json.
 */
export function nodeBinary(arch) {
  const expected = pinned.integrity[arch];
  if (expected === undefined) throw new Error(`no pinned Node.js for linux-${arch} in packaging/node.json`);
  const folder = join(cache, `node-linux-${arch}-${NODE_VERSION}`);
  const binary = join(folder, "bin", "node");
  if (existsSync(binary)) return binary;
  mkdirSync(cache, { recursive: true });
  const tarball = join(cache, `node-linux-${arch}-${NODE_VERSION}.tgz`);
  if (!existsSync(tarball)) run("npm", ["pack", `node-linux-${arch}@${NODE_VERSION}`, "--pack-destination", cache, "--silent"], { stdio: ["ignore", "ignore", "inherit"] });
  const actual = `sha512-${createHash("sha512").update(readFileSync(tarball)).digest("base64")}`;
  if (actual !== expected) {
    rmSync(tarball, { force: true });
    throw new Error(`node-linux-${arch}@${NODE_VERSION}: integrity ${actual} is not the pinned ${expected}`);
  }
  mkdirSync(folder, { recursive: true });
  run("tar", ["-xzf", tarball, "-C", folder, "--strip-components=1", "package/bin/node", "package/LICENSE"]);
  return binary;
}

/**
 * The entries' virtual modules: each app's main.ts, its top-level statements wrapped into an
 * exported `main()` (a CommonJS bundle has no top-level await).
 */
const wrapMains = {
  name: "hb-mains",
  setup(build) {
    const mains = { "hb:cli-main": join(root, "apps/cli/src/main.ts"), "hb:daemon-main": join(root, "apps/daemon/src/main.ts") };
    build.onResolve({ filter: /^hb:/ }, (args) => ({ path: mains[args.path], namespace: "hb-main" }));
    build.onLoad({ filter: /.*/, namespace: "hb-main" }, (args) => {
      const lines = readFileSync(args.path, "utf8").split("\n");
      const imports = [];
      const body = [];
      for (const line of lines) {
        if (line.startsWith("import ")) {
          if (!line.trimEnd().endsWith(";")) throw new Error(`${args.path}: an import over several lines; write it on one line for the executable's build`);
          imports.push(line);
        } else if (line.startsWith("export ")) {
          throw new Error(`${args.path}: a composition root exports nothing`);
        } else body.push(line);
      }
      return { contents: `${imports.join("\n")}\nexport async function main() {\n${body.join("\n")}\n}\n`, loader: "ts", resolveDir: dirname(args.path) };
    });
  },
};

/**
 * One of the executable's bundles (entry.mjs: the CLI; daemon.mjs: hbd): one CommonJS file, no
 * dynamic loading (a script compiled from an asset has no module loader).
 */
export async function bundle(outfile, { entry = join(root, "packaging", "sea", "entry.mjs"), nodePaths = [] } = {}) {
  const esbuild = require("esbuild");
  const result = await esbuild.build({
    metafile: true,
    write: false,
    // Only hbd --demo asks for it, and only a checkout has it: the demo says so and uses a folder.
    external: ["@hb/testkit"],
    // A CommonJS bundle has no import.meta: its URL is the executable's. Nothing is beside the executable, so lookups of files next to
    // the bundle (bin/hb.js) find none and take their in-process path.
    define: { "import.meta.url": "__hbMeta.url" },
    entryPoints: [entry],
    nodePaths,
    outfile,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node24",
    minify: true,
    // Function#toString of the worker's functions becomes the `-e` source: names stay as written.
    keepNames: false,
    legalComments: "none",
    plugins: [wrapMains],
    logLevel: "warning",
  });
  writeFileSync(outfile, withoutDynamicImport(result.outputFiles[0].text));
  return result.metafile;
}

/**
 * A script compiled from an asset has no dynamic import(): each `import("id")` left in the bundle (a builtin some
 * library loads lazily, the demo's test kit) becomes a promise of the builtin, or the same
 * rejection as a module that is not there.
 */
export function withoutDynamicImport(code) {
  const shim =
    'var __hbMeta={get url(){return process.getBuiltinModule("node:url").pathToFileURL(process.execPath).href}};\n' +
    'var __hbImport=(id)=>Promise.resolve().then(()=>{const m=process.getBuiltinModule(id);if(m===undefined)throw Object.assign(new Error("Cannot find module \'"+id+"\'"),{code:"ERR_MODULE_NOT_FOUND"});return{...m,default:m}});\n';
  const rewritten = code.replace(/\bimport\(("[^"\n]+")\)/g, "__hbImport($1)");
  const left = /\bimport\(/.exec(rewritten);
  if (left !== null) throw new Error(`the bundle still has a dynamic import(): …${rewritten.slice(left.index - 60, left.index + 60)}…`);
  return rewritten.startsWith('"use strict";') ? `"use strict";${shim}${rewritten.slice(13)}` : `${shim}${rewritten}`;
}

/** The license of every third-party package in the bundles, for the packages' THIRD-PARTY-LICENSES. */
export function thirdPartyLicenses(...metafiles) {
  const folders = new Set();
  for (const input of metafiles.flatMap((metafile) => Object.keys(metafile.inputs))) {
    const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(input.replace(/^[^:]*:/, ""));
    if (match !== null && !input.includes("/@hb/")) folders.add(join(root, match[1]));
  }
  const sections = [...folders].map((folder) => {
    const pkg = JSON.parse(readFileSync(join(folder, "package.json"), "utf8"));
    const file = readdirSync(folder).find((name) => /^(licen[cs]e|copying)(\.|$)/i.test(name));
    return `${pkg.name} ${pkg.version} (${pkg.license ?? "see below"})\n\n${file === undefined ? "(no license file in the package)" : readFileSync(join(folder, file), "utf8").trim()}\n`;
  });
  return [...new Set(sections)].sort().join(`\n${"-".repeat(72)}\n\n`);
}

/** A bundle as sea/main.cjs runs it: a function of `require` (the builtins). */
function wrapBundle(file) {
  writeFileSync(file, `(function (require) {${readFileSync(file, "utf8")}\n})`);
}

/**
 * The code cache of the CLI's bundle, made by the executable's own Node after one neighbour read
 * (`hb compat kvmheartbeat -r`, with a real `dd`) of a fresh heartbeat in a temporary pool, so the
 * agent's read path starts compiled; then checked to be one that V8 accepts.
 */
function makeCodeCache(node, bundleFile, cacheFile) {
  const dir = mkdtempSync(join(tmpdir(), "hb-code-cache-"));
  try {
    const pool = join(dir, "pool");
    mkdirSync(join(pool, "KVMHA"), { recursive: true });
    writeFileSync(join(pool, "KVMHA", "hb-10.0.0.5"), `${Math.floor(Date.now() / 1000)}\n`);
    writeFileSync(join(dir, "mounts"), `10.0.0.2:/export ${pool} nfs rw,vers=3 0 0\n`);
    writeFileSync(join(dir, "agent.properties"), `hb.mounts.file=${join(dir, "mounts")}\n`);
    const tool = join(root, "packaging", "sea", "code-cache.cjs");
    const read = ["compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", pool, "-h", "10.0.0.5", "-r", "-t", "60"];
    const out = execFileSync(node, [tool, "make", bundleFile, cacheFile, ...read], { env: { ...process.env, AGENT_PROPS: join(dir, "agent.properties") }, encoding: "utf8" });
    if (out !== "=====> ALIVE <=====\n" || !existsSync(cacheFile)) throw new Error(`the code cache's rehearsal of the read path printed ${JSON.stringify(out)}`);
    run(node, [tool, "check", bundleFile, cacheFile]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Build the executable for `arch` into `outDir`/hb-linux-<arch>. The code caches are made by the
 * target's own node, so only linux-x64 (this machine) gets them; linux-arm64 compiles its scripts
 * at each start, and is checked without running it.
 */
export async function buildExecutable(arch, outDir) {
  const work = join(outDir, `sea-${arch}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const cli = join(work, "hb.cjs");
  const daemon = join(work, "hbd.cjs");
  const cache = join(work, "hb.cache");
  const metafiles = [await bundle(cli), await bundle(daemon, { entry: join(root, "packaging", "sea", "daemon.mjs") })];
  wrapBundle(cli);
  wrapBundle(daemon);
  const native = arch === process.arch;
  const buildNode = nodeBinary(process.arch);
  if (native) makeCodeCache(buildNode, cli, cache);
  else writeFileSync(cache, "");
  const main = join(work, "main.cjs");
  const version = JSON.parse(readFileSync(join(root, "apps", "cli", "package.json"), "utf8")).version;
  writeFileSync(main, readFileSync(join(root, "packaging", "sea", "main.cjs"), "utf8").replace("__HB_VERSION__", version));
  const config = {
    main,
    output: join(work, "sea-prep.blob"),
    disableExperimentalSEAWarning: true,
    useSnapshot: false,
    useCodeCache: native,
    execArgv: pinned.execArgv,
    assets: { "hb.cjs": cli, "hb.cache": cache, "hbd.cjs": daemon },
  };
  writeFileSync(join(work, "sea-config.json"), `${JSON.stringify(config, null, 2)}\n`);
  run(buildNode, ["--experimental-sea-config", join(work, "sea-config.json")], { stdio: ["ignore", "ignore", "inherit"] });
  const executable = join(outDir, `hb-linux-${arch}`);
  rmSync(executable, { force: true });
  copyFileSync(nodeBinary(arch), executable);
  chmodSync(executable, 0o755);
  // Node's debug information is a sixth of the file and of no use to an operator.
  try {
    execFileSync("strip", [executable], { stdio: "ignore" });
  } catch {
    // No strip for this architecture here: the executable works the same, only bigger.
  }
  const postject = join(dirname(require.resolve("postject/package.json")), "dist", "cli.js");
  run(process.execPath, [postject, executable, "NODE_SEA_BLOB", config.output, "--sentinel-fuse", SENTINEL], { stdio: ["ignore", "ignore", "inherit"] });
  checkExecutable(executable, arch);
  return { executable, thirdParty: thirdPartyLicenses(...metafiles), nodeLicense: join(dirname(dirname(nodeBinary(arch))), "LICENSE") };
}

/** Without running it: the right architecture, the blob injected and the fuse flipped. */
export function checkExecutable(executable, arch) {
  const header = execFileSync("readelf", ["-h", executable], { encoding: "utf8" });
  const machine = { x64: "X86-64", arm64: "AArch64" }[arch];
  if (!header.includes(machine)) throw new Error(`${executable}: not an ${machine} executable`);

  if (!readFileSync(executable).includes("NODE_SEA_BLOB")) throw new Error(`${executable}: no NODE_SEA_BLOB note (postject did not inject)`);
  if (!readFileSync(executable).includes(`${SENTINEL}:1`)) throw new Error(`${executable}: the SEA fuse is not set`);
}

export function cleanCache() {
  for (const name of existsSync(cache) ? readdirSync(cache) : []) rmSync(join(cache, name), { recursive: true, force: true });
}
