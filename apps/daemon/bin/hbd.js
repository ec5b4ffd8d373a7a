#!/usr/bin/env node
// Committed shim: the bin path exists before the build, and says so when there is no build.
try {
  await import("../dist/main.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/main.js")) {
    console.error("hbd is not built (expected apps/daemon/dist/main.js): run `pnpm build` in the repository");
    process.exit(70);
  }
  throw error;
}
