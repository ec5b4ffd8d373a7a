import { hbProject } from "@hb/vitest-config";

export default hbProject("@hb/fuzz", { globalSetup: ["src/global-setup.ts"], testTimeout: 60_000, hookTimeout: 60_000 });
