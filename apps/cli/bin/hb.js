#!/usr/bin/env node
// Committed shim: the bin path exists before the build, and says so when there is no build.
try {
  await import("../dist/main.js");
} catch (error) {
  if (error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/main.js")) {
    console.error("hb is not built (expected apps/cli/dist/main.js): run `pnpm build` in the repository");
  } else {
    // The bundle failed to load: one line, the stack only when asked for.
    const debug = process.env.HB_DEBUG === "1";
    console.error(`hb: internal error (a bug in hb, please report it): cannot load hb: ${String(error?.message ?? error).replace(/\p{Cc}/gu, " ")}${debug ? "" : "; run again with HB_DEBUG=1 to print the details"}`);
    if (debug) console.error(error);
  }
  process.exit(70);
}
