// Once per run: the seed, one temp folder for every fuzz child, and the child program bundled
// from the sources (the children run plain Node, which cannot load TypeScript).
import { chmod, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "tsup";
import type { TestProject } from "vitest/node";
import { find } from "./find.js";

declare module "vitest" {
  export interface ProvidedContext {
    fuzzSeed: number;
    fuzzRoot: string;
    fuzzDriver: string;
    fuzzWritable: { folders: string[]; files: string[] };
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.HB_FUZZ_SEED;
  const seed = given !== undefined && /^-?\d+$/.test(given) ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  const root = await mkdtemp(join(tmpdir(), "hb-fuzz-"));
  // The children run as another uid: they must reach their own folders below this one.
  await chmod(root, 0o755);
  const outDir = join(root, "driver");
  const writable = worldWritable(root);
  await build({
    config: false,
    entry: { child: fileURLToPath(new URL("driver/child.ts", import.meta.url)) },
    outDir,
    format: ["esm"],
    platform: "node",
    target: "node24",
    noExternal: [/.*/],
    splitting: false,
    silent: true,
    // Bundled CommonJS dependencies call require(), as in apps/cli's bundle.
    banner: { js: 'import { createRequire as __hbCreateRequire } from "node:module"; const require = __hbCreateRequire(import.meta.url);' },
  });
  project.provide("fuzzSeed", seed);
  project.provide("fuzzRoot", root);
  project.provide("fuzzDriver", join(outDir, "child.js"));
  project.provide("fuzzWritable", await writable);
  return () => rm(root, { recursive: true, force: true });
}

// Filesystems a process can write files on; network and FUSE mounts are left out (another
// test's fault filesystem may hang whoever looks at it).
const LOCAL_FILESYSTEMS = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "tmpfs", "overlay", "vfat", "f2fs", "zfs"]);

async function writableMounts(): Promise<string[]> {
  const mounts = new Set<string>();
  for (const line of (await readFile("/proc/self/mountinfo", "utf8")).split("\n")) {
    const [before, after] = line.split(" - ");
    const fields = before?.split(" ") ?? [];
    const [type] = after?.split(" ") ?? [];
    const mountPoint = fields[4]?.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    const options = fields[5]?.split(",") ?? [];
    if (mountPoint !== undefined && type !== undefined && LOCAL_FILESYSTEMS.has(type) && !options.includes("ro")) mounts.add(mountPoint);
  }
  return [...mounts];
}

/** Every world-writable folder and file of the local filesystems: where a uid owning nothing can write. */
async function worldWritable(root: string): Promise<{ folders: string[]; files: string[] }> {
  if (process.getuid?.() !== 0) return { folders: [], files: [] };
  const mounts = await writableMounts();
  const prune = ["(", "-path", root, "-o", "-path", "/proc", "-o", "-path", "/sys", ")", "-prune", "-o"];
  const found = await find([...mounts, "-xdev", ...prune, "(", "-type", "d", "-o", "-type", "f", ")", "-perm", "-0002", "-printf", "%y %p\\n"], 120_000);
  const of = (type: string) => [...new Set(found.filter((line) => line.startsWith(`${type} `)).map((line) => line.slice(2)))];
  return { folders: of("d"), files: of("f") };
}
