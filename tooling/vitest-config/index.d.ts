import type { TestProjectInlineConfiguration, ViteUserConfig } from "vitest/config";

export declare const UNIT_TESTS: string;
export declare const SYSTEM_TESTS: string;
export declare function hbProject(
  name: string,
  overrides?: { unit?: TestProjectInlineConfiguration["test"]; system?: TestProjectInlineConfiguration["test"] },
): ViteUserConfig;
