// hb's .deb and .rpm from the single executable and the native storage worker: the
// distributions' own tools (dpkg-deb, rpmbuild), one staging tree for both, so both install the
// same files. `pnpm release` calls
// the functions below. Run on its own, it packages the executable that release built again under
// another version (the lab's upgrade scenario installs one version, then the next):
//   node packaging/build-packages.mjs --version VERSION [--arch x64] [--out DIR] [--no-rpm]
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const root = fileURLToPath(new URL("..", import.meta.url));
const here = join(root, "packaging");
const DEB_ARCH = { x64: "amd64", arm64: "arm64" };
const RPM_ARCH = { x64: "x86_64", arm64: "aarch64" };
const ELF_MACHINE = { x64: 62, arm64: 183 };
const WORKER_BUILD = join(root, "packages/storage-nfs/native/build.mjs");
// What the worker's static musl is under (MIT), from the build machine's Debian musl package: the
// first that is there (musl-dev, which the build needs, depends on musl; both carry the same text).
const MUSL_NOTICES = ["/usr/share/doc/musl/copyright", "/usr/share/doc/musl-dev/copyright"];
export const SUMMARY = "storage heartbeat and self-fencing for CloudStack KVM hosts";
const DESCRIPTION = [
  "hb replaces the storage heartbeat scripts of the CloudStack KVM agent (kvmheartbeat.sh,",
  "kvmspheartbeat.sh, kvmvmactivity.sh) and its monitor loop: a configurable, evidence-based",
  "fence decision. One self-contained executable (Node.js inside): hb, the CLI and the scripts'",
  "drop-in entry points, and hbd, the monitor (a systemd unit, not enabled by default), which",
  "keeps one small static storage worker running per pool.",
];

function write(path, text, mode = 0o644) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode });
  chmodSync(path, mode);
}

/** A man page around the command's own --help text (the README's reference). */
function manPage(name, section, title, help, version) {
  const body = help
    .trimEnd()
    .split("\n")
    .map((line) => line.replaceAll("\\", "\\e"))
    .map((line) => (/^[.']/.test(line) ? `\\&${line}` : line));
  return [`.TH ${name.toUpperCase()} ${section} "" "hb ${version}" "hb"`, ".SH NAME", `${name} \\- ${title}`, ".SH DESCRIPTION", ".nf", ...body, ".fi", ".SH SEE ALSO", name === "hb" ? "hbd(8)" : "hb(1)", ""].join("\n");
}

/**
 * The native storage worker for `arch` (hbd keeps one per pool), compiled by its build.mjs into
 * `out`: static and stripped, arm64 with Debian's cross-compiler; checked without running it.
 * Always against musl (about 90 KiB of memory per worker, glibc's static start-up 670 KiB): where
 * musl is missing this fails rather than package a glibc worker.
 */
export function buildWorker(arch, out, { script = WORKER_BUILD } = {}) {
  if (!ELF_MACHINE[arch]) throw new PackageError(`--arch ${arch}: not x64 or arm64`);
  rmSync(out, { force: true });
  const result = spawnSync(process.execPath, [script, "--arch", arch, "--libc", "musl", "--out", out], { stdio: ["ignore", "inherit", "inherit"] });
  if (result.status !== 0) throw new PackageError(`the storage worker for linux-${arch}: ${script} exited with ${result.status ?? result.signal}`);
  checkWorker(out, arch);
  return out;
}

/**
 * From its ELF headers alone (the arm64 one cannot run here): a 64-bit little-endian executable
 * for `arch` with no program interpreter, so it needs no libc of the host's.
 */
export function checkWorker(path, arch) {
  const elf = readFileSync(path);
  const fail = (why) => {
    throw new PackageError(`${path}: ${why}`);
  };
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) fail("not an ELF file");
  if (elf[4] !== 2 || elf[5] !== 1) fail("not a 64-bit little-endian ELF file");
  if (![2, 3].includes(elf.readUInt16LE(16))) fail(`ELF type ${elf.readUInt16LE(16)}, not an executable`);
  const machine = elf.readUInt16LE(18);
  if (machine !== ELF_MACHINE[arch]) fail(`ELF machine ${machine}, not ${ELF_MACHINE[arch]} (linux-${arch})`);
  const phoff = Number(elf.readBigUInt64LE(32));
  const phentsize = elf.readUInt16LE(54);
  const phnum = elf.readUInt16LE(56);
  if (phnum === 0 || phentsize < 4 || phoff + phnum * phentsize > elf.length) fail("no readable program headers");
  for (let i = 0; i < phnum; i++) {
    // PT_INTERP: the dynamic loader a dynamically linked executable names.
    if (elf.readUInt32LE(phoff + i * phentsize) === 3) fail("dynamically linked (a PT_INTERP program header), not static");
  }
  if ((statSync(path).mode & 0o111) === 0) fail("not executable");
  return path;
}

/** The copyright and license of the musl C library the static worker carries. */
export function muslLicense() {
  const path = MUSL_NOTICES.find((candidate) => existsSync(candidate));
  if (path === undefined) throw new PackageError(`${MUSL_NOTICES.join(" and ")} are missing (Debian: apt-get install musl-dev)`);
  return readFileSync(path, "utf8").trimEnd() + "\n";
}

/** Everything the packages install, under `stage`, from the executable (run here for --help) and the worker. */
export function stageTree(stage, { executable, worker, helpExecutable, version, nodeLicense, thirdParty, musl }) {
  rmSync(stage, { recursive: true, force: true });
  const at = (path) => join(stage, path);
  mkdirSync(at("usr/lib/hb"), { recursive: true });
  copyFileSync(executable, at("usr/lib/hb/hb"));
  chmodSync(at("usr/lib/hb/hb"), 0o755);
  // hbd starts the worker found beside its own executable; not a user command: no link in /usr/bin.
  copyFileSync(worker, at("usr/lib/hb/hb-storage-worker"));
  chmodSync(at("usr/lib/hb/hb-storage-worker"), 0o755);
  write(at("usr/lib/hb/hb-package-hook"), readFileSync(join(here, "hb-package-hook.sh"), "utf8"), 0o755);
  mkdirSync(at("usr/bin"), { recursive: true });
  // One file, two names: the name it is started under picks the CLI or the daemon.
  symlinkSync("../lib/hb/hb", at("usr/bin/hb"));
  symlinkSync("../lib/hb/hb", at("usr/bin/hbd"));

  const unit = readFileSync(join(root, "apps/daemon/systemd/hbd.service"), "utf8")
    .replace(/^# Install: .*\n/m, "# Installed by the hb package; not enabled: `systemctl enable --now hbd` when hb.pools is set.\n")
    .replace(/^ExecStart=.*$/m, "ExecStart=/usr/bin/hbd");
  if (!unit.includes("ExecStart=/usr/bin/hbd\n")) throw new Error("hbd.service: no ExecStart line to point at /usr/bin/hbd");
  write(at("usr/lib/systemd/system/hbd.service"), unit);
  // The watchdog drop-in resets the host when hbd hangs: active only once an operator copies it.
  write(at("usr/share/hb/hbd-watchdog.conf"), readFileSync(join(root, "apps/daemon/systemd/hbd-watchdog.conf"), "utf8"));

  const help = (name, args) => {
    const result = spawnSync(helpExecutable, args, { argv0: name, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${name} ${args.join(" ")}: exit ${result.status}: ${result.stderr}`);
    return result.stdout;
  };
  const hbHelp = [help("hb", ["--help"]), ...["nfs", "drbd", "fence", "shims", "simulate"].map((group) => help("hb", [group, "--help"]))].join("\n");
  write(at("usr/share/man/man1/hb.1.gz"), gzipSync(manPage("hb", 1, "the storage heartbeat of CloudStack KVM hosts", hbHelp, version), { level: 9 }));
  write(at("usr/share/man/man8/hbd.8.gz"), gzipSync(manPage("hbd", 8, "the heartbeat monitor of a CloudStack KVM host", help("hbd", ["--help"]), version), { level: 9 }));
  const completion = readFileSync(join(here, "completion/hb.bash"), "utf8");
  write(at("usr/share/bash-completion/completions/hb"), completion);
  write(at("usr/share/bash-completion/completions/hbd"), completion);

  write(
    at("usr/share/doc/hb/copyright"),
    [
      "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
      "Upstream-Name: hb",
      "",
      "Files: *",
      "License: Apache-2.0",
      " The full text is in /usr/share/doc/hb/LICENSE.",
      "",
      "Files: usr/lib/hb/hb",
      "License: Apache-2.0 and MIT and others",
      " hb's executable contains Node.js (LICENSE.node) and the libraries hb's bundle is built",
      " from (THIRD-PARTY-LICENSES), each under its own license.",
      "",
      "Files: usr/lib/hb/hb-storage-worker",
      "License: Apache-2.0 and MIT",
      " hb's storage worker is statically linked with the musl C library (LICENSE.musl); its",
      " source is hb's packages/storage-nfs/native/storage-worker.c, the library's is Debian's musl.",
      "",
    ].join("\n"),
  );
  copyFileSync(join(here, "LICENSE"), at("usr/share/doc/hb/LICENSE"));
  copyFileSync(nodeLicense, at("usr/share/doc/hb/LICENSE.node"));
  write(at("usr/share/doc/hb/THIRD-PARTY-LICENSES"), thirdParty);
  write(at("usr/share/doc/hb/LICENSE.musl"), musl);
  return stage;
}

/** The files of the tree, as the packages list them: /path, directories left out. */
export function stagedFiles(stage) {
  const out = execFileSync("find", [".", "!", "-type", "d"], { cwd: stage, encoding: "utf8" });
  return out
    .split("\n")
    .filter(Boolean)
    .map((path) => path.slice(1))
    .sort();
}

export function buildDeb(stage, { arch, version, outDir, gzipLevel = 9 }) {
  const tree = `${stage}-deb`;
  rmSync(tree, { recursive: true, force: true });
  execFileSync("cp", ["-a", stage, tree]);
  const size = Number(execFileSync("du", ["-sk", "--apparent-size", tree], { encoding: "utf8" }).split("\t")[0]);
  write(
    join(tree, "DEBIAN/control"),
    [
      "Package: hb",
      `Version: ${version}`,
      `Architecture: ${DEB_ARCH[arch]}`,
      "Maintainer: hb maintainers <hb@localhost>",
      `Installed-Size: ${size}`,
      "Section: admin",
      "Priority: optional",
      "Depends: libc6 (>= 2.28), libstdc++6 (>= 5), libgcc-s1 | libgcc1",
      "Recommends: cloudstack-agent",
      `Description: ${SUMMARY}`,
      ...DESCRIPTION.map((line) => ` ${line}`),
      "",
    ].join("\n"),
  );
  for (const script of ["postinst", "prerm", "postrm"]) write(join(tree, "DEBIAN", script), readFileSync(join(here, "debian", script), "utf8"), 0o755);
  const deb = join(outDir, `hb_${version}_${DEB_ARCH[arch]}.deb`);
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", `-z${gzipLevel}`, "--build", tree, deb], { stdio: ["ignore", "ignore", "inherit"] });
  rmSync(tree, { recursive: true, force: true });
  return deb;
}

export function buildRpm(stage, { arch, version, outDir }) {
  const top = join(outDir, "rpmbuild");
  rmSync(top, { recursive: true, force: true });
  const files = stagedFiles(stage);
  const spec = readFileSync(join(here, "rpm/hb.spec.in"), "utf8")
    .replaceAll("@VERSION@", version)
    .replaceAll("@SUMMARY@", SUMMARY)
    .replaceAll("@DESCRIPTION@", DESCRIPTION.join("\n"))
    .replaceAll("@STAGE@", stage)
    .replace("@FILES@", ["%dir /usr/lib/hb", "%dir /usr/share/hb", "%dir /usr/share/doc/hb", ...files].join("\n"));
  write(join(top, "SPECS/hb.spec"), spec);
  execFileSync("rpmbuild", ["--quiet", "-bb", "--target", RPM_ARCH[arch], "--define", `_topdir ${top}`, "--define", "_build_id_links none", join(top, "SPECS/hb.spec")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  const name = `hb-${version}-1.${RPM_ARCH[arch]}.rpm`;
  copyFileSync(join(top, "RPMS", RPM_ARCH[arch], name), join(outDir, name));
  rmSync(top, { recursive: true, force: true });
  return join(outDir, name);
}

/** A version both dpkg and rpm take: a digit first; rpm's Version allows no "-". */
export function checkVersion(version) {
  if (!/^[0-9][A-Za-z0-9.+~]*$/.test(version)) throw new PackageError(`--version ${JSON.stringify(version)}: not a package version (a digit, then letters, digits, ".", "+" or "~")`);
  return version;
}
export class PackageError extends Error {}

/**
 * Packages packaging/dist/hb-linux-<arch> again as `version`, with the licenses release staged.
 * `gzipLevel`: the .deb's compression (1 packs the 110 MiB executable in seconds, 9 in half a minute).
 */
export function repackage({ version, arch = "x64", outDir = join(here, "dist"), rpm = true, gzipLevel = 9 }) {
  checkVersion(version);
  if (!DEB_ARCH[arch]) throw new PackageError(`--arch ${arch}: not x64 or arm64`);
  const dist = join(here, "dist");
  const executable = join(dist, `hb-linux-${arch}`);
  const worker = join(dist, `hb-storage-worker-linux-${arch}`);
  const docs = join(dist, `stage-${arch}`, "usr/share/doc/hb");
  for (const path of [executable, worker, join(docs, "THIRD-PARTY-LICENSES"), join(docs, "LICENSE.musl")]) {
    if (!existsSync(path)) throw new PackageError(`${path} is missing: run pnpm release --arch ${arch} first`);
  }
  checkWorker(worker, arch);
  mkdirSync(outDir, { recursive: true });
  const helpExecutable = join(dist, `hb-linux-${process.arch}`);
  const stage = stageTree(join(outDir, `stage-${arch}-${version}`), {
    executable,
    worker,
    helpExecutable: existsSync(helpExecutable) ? helpExecutable : executable,
    version,
    nodeLicense: join(docs, "LICENSE.node"),
    thirdParty: readFileSync(join(docs, "THIRD-PARTY-LICENSES"), "utf8"),
    musl: readFileSync(join(docs, "LICENSE.musl"), "utf8"),
  });
  const built = [buildDeb(stage, { arch, version, outDir, gzipLevel })];
  if (rpm) built.push(buildRpm(stage, { arch, version, outDir }));
  rmSync(stage, { recursive: true, force: true });
  return built;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    const { values } = parseArgs({ options: { version: { type: "string" }, arch: { type: "string", default: "x64" }, out: { type: "string" }, "no-rpm": { type: "boolean" } } });
    if (!values.version) throw new PackageError("usage: node packaging/build-packages.mjs --version VERSION [--arch x64|arm64] [--out DIR] [--no-rpm]");
    const outDir = values.out ? resolve(values.out) : undefined;
    for (const file of repackage({ version: values.version, arch: values.arch, outDir, rpm: !values["no-rpm"] })) console.log(file);
  } catch (error) {
    if (!(error instanceof PackageError) && error?.code !== "ERR_PARSE_ARGS_UNKNOWN_OPTION") throw error;
    console.error(`build-packages: ${error.message}`);
    process.exit(2);
  }
}
