import { hbProject } from "@hb/vitest-config";

// Every fuzz file runs the code in children of their own uid: all of them are system tests.
export default hbProject("@hb/fuzz", { system: { globalSetup: ["src/global-setup.ts"], testTimeout: 60_000, hookTimeout: 60_000 } });
