// Once per run: the seed, one temp folder for every fuzz child, and the child program bundled
// from the sources (the children run plain Node, which cannot load TypeScript).
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "tsup";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    fuzzSeed: number;
    fuzzRoot: string;
    fuzzDriver: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const given = process.env.HB_FUZZ_SEED;
  const seed = given !== undefined && /^-?\d+$/.test(given) ? Number(given) : Math.floor(Math.random() * 2 ** 31);
  const root = await mkdtemp(join(tmpdir(), "hb-fuzz-"));
  // The children run as another uid: they must reach their own folders below this one.
  await chmod(root, 0o755);
  const outDir = join(root, "driver");
  await build({
    config: false,
    entry: { child: fileURLToPath(new URL("driver/child.ts", import.meta.url)) },
    outDir,
    format: ["esm"],
    platform: "node",
    target: "node20",
    noExternal: [/.*/],
    splitting: false,
    silent: true,
    // Bundled CommonJS dependencies call require(), as in apps/cli's bundle.
    banner: { js: 'import { createRequire as __hbCreateRequire } from "node:module"; const require = __hbCreateRequire(import.meta.url);' },
  });
  project.provide("fuzzSeed", seed);
  project.provide("fuzzRoot", root);
  project.provide("fuzzDriver", join(outDir, "child.js"));
  return () => rm(root, { recursive: true, force: true });
}
