#!/usr/bin/env node
// Every check there is (`npm test` runs it after scripts/setup.mjs, on Node 24): lint, type checks
// and both test projects of every package (`test`: unit, `test:system`: real processes, FUSE, the
// JDK, e2e, the fault matrix), then one summary line "N passed, N failed, N skipped" taken from
// each package's two vitest JSON reports.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const projects = ["packages", "apps", "tooling"].flatMap((group) =>
  existsSync(join(root, group)) ? readdirSync(join(root, group)).map((name) => join(root, group, name)) : [],
);
// The unit project's report and the system project's (see tooling/vitest-config).
const reports = projects.flatMap((dir) => ["vitest.json", "vitest-system.json"].map((name) => join(dir, ".cache", name)));
for (const report of reports) rmSync(report, { force: true });

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: "1" };
// A cached test task restores the report of the run it replays, so the summary stays true.
// One task at a time: several suites drive real child processes, FUSE mounts and deadlines
// against the clock, and two cores shared by every package at once would turn that into noise.
const turbo = spawnSync("pnpm", ["exec", "turbo", "run", "lint", "typecheck", "test", "test:system", "--continue", "--concurrency=1", "--output-logs=new-only", ...process.argv.slice(2)], {
  cwd: root,
  stdio: "inherit",
  env,
});

let passed = 0;
let failed = 0;
let skipped = 0;
for (const report of reports.filter(existsSync)) {
  const result = JSON.parse(readFileSync(report, "utf8"));
  passed += result.numPassedTests;
  failed += result.numFailedTests;
  skipped += result.numPendingTests + result.numTodoTests;
}
console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(turbo.status === 0 && failed === 0 ? 0 : (turbo.status ?? 1) || 1);
