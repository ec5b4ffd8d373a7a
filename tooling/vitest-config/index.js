// Plain JS on purpose: loaded as it is, with no TypeScript step before the config.
import { defineConfig } from "vitest/config";

/** Where each project's tests live: the folder decides, so a test never sits in the wrong one. */
export const UNIT_TESTS = "src/**/*.test.ts";
export const SYSTEM_TESTS = "test/**/*.test.ts";

/**
 * The vitest config every hb package uses: two projects,
 * - `unit`: `src/**\/*.test.ts`, the code in the test's own process, 10 s per test (a few run a simulation to its event limit: CPU-bound, and this machine is shared);
 * - `system`: `test/**\/*.test.ts`, real processes, FUSE, the JDK, other uids, e2e, 20 s per test.
 * The package scripts pick one with `--project` and name the JSON report each writes
 * (.cache/vitest.json for unit, .cache/vitest-system.json for system); the workspace's test
 * command sums those reports into one "N passed, N failed" line.
 * @param {string} _name the package's name, for whoever reads its config (the projects are named
 *   `unit` and `system` in every package, so `--project unit` means the same everywhere)
 * @param {{ unit?: import("vitest/config").TestProjectInlineConfiguration["test"], system?: import("vitest/config").TestProjectInlineConfiguration["test"] }} [overrides] per project
 */
export function hbProject(_name, overrides = {}) {
  return defineConfig({
    test: {
      environment: "node",
      clearMocks: true,
      restoreMocks: true,
      reporters: ["default", "json"],
      outputFile: { json: ".cache/vitest.json" },
      // A package may have no tests of one kind (a leaf with unit tests only).
      passWithNoTests: true,
      projects: [
        { extends: true, test: { name: "unit", include: [UNIT_TESTS], testTimeout: 10_000, isolate: false, ...overrides.unit } },
        { extends: true, test: { name: "system", include: [SYSTEM_TESTS], testTimeout: 20_000, ...overrides.system } },
      ],
    },
  });
}
