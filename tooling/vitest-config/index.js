// Plain JS on purpose: Node 20 cannot load a .ts file that a config imports.
import { defineProject } from "vitest/config";

/**
 * The vitest project every hb package uses. Results also go to .cache/vitest.json,
 * which the workspace's test summary reads to print one "N passed, N failed" line.
 * @param {string} name package name, shown in reports
 * @param {import("vitest/config").UserWorkspaceConfig["test"]} [test] overrides
 */
export function hbProject(name, test = {}) {
  return defineProject({
    test: {
      name,
      environment: "node",
      include: ["src/**/*.test.ts", "test/**/*.test.ts"],
      clearMocks: true,
      restoreMocks: true,
      testTimeout: 20_000,
      reporters: ["default", "json"],
      outputFile: { json: ".cache/vitest.json" },
      ...test,
    },
  });
}
