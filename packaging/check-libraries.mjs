#!/usr/bin/env node
// CI's check that each @hb/* library publishes correctly: `pnpm pack` (workspace: and catalog:
// versions replaced, as publishing does), then publint (package.json against the files) and
// @arethetypeswrong/cli (every export's types resolve; ESM only, as the packages are) on the
// tarball. Packs are left in packaging/dist/libs/. Exit 1 on any problem.
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "packaging", "dist", "libs");
const bin = (name) => join(root, "node_modules", ".bin", name);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const libraries = readdirSync(join(root, "packages")).filter((name) => !JSON.parse(readFileSync(join(root, "packages", name, "package.json"), "utf8")).private);
let failed = 0;
const check = (what, file, args, cwd = root) => {
  const result = spawnSync(file, args, { cwd, encoding: "utf8" });
  const ok = result.status === 0;
  if (!ok) failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) console.log(`${result.stdout}${result.stderr}`.trim().replace(/^/gm, "     "));
  return result;
};
for (const name of libraries) {
  const folder = join(root, "packages", name);
  const before = new Set(readdirSync(out));
  check(`@hb/${name}: pnpm pack`, "pnpm", ["pack", "--pack-destination", out], folder);
  const tarball = readdirSync(out).find((file) => !before.has(file));
  if (tarball === undefined) continue;
  check(`@hb/${name}: publint --strict`, bin("publint"), ["run", join(out, tarball), "--strict"]);
  check(`@hb/${name}: attw --profile esm-only`, bin("attw"), [join(out, tarball), "--profile", "esm-only", "--format", "ascii"]);
  // A published package names versions, never workspace: or catalog: (pnpm pack replaces them).
  const manifest = spawnSync("tar", ["-xzOf", join(out, tarball), "package/package.json"], { encoding: "utf8" }).stdout;
  const unresolved = /"(workspace|catalog):/.test(manifest);
  if (unresolved) failed++;
  console.log(`${unresolved ? "FAIL" : "ok  "} @hb/${name}: dependencies name versions`);
}
console.log(`${libraries.length * 4 - failed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
