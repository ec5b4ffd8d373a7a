import type { UserWorkspaceConfig } from "vitest/config";

export declare function hbProject(name: string, test?: UserWorkspaceConfig["test"]): UserWorkspaceConfig;
