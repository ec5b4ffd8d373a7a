// Run by the executable's own Node at build time (build-sea.mjs), never shipped:
//   node code-cache.cjs make BUNDLE CACHE ARGS…   run the bundle as `hb ARGS…`, then write the V8
//                                                 code cache of what that compiled to CACHE
//   node code-cache.cjs check BUNDLE CACHE        exit 1 if V8 rejects CACHE for BUNDLE
// V8 keeps in the cache every function compiled so far, so a cache made after a rehearsed command
// lets the same command start with nothing to compile.
"use strict";
const { readFileSync, writeFileSync } = require("node:fs");
const { Script } = require("node:vm");

const [mode, bundle, cache, ...args] = process.argv.slice(2);
const source = readFileSync(bundle, "utf8");
if (mode === "check") {
  const script = new Script(source, { filename: "hb.cjs", cachedData: readFileSync(cache) });
  process.exitCode = script.cachedDataRejected === false ? 0 : 1;
} else {
  const script = new Script(source, { filename: "hb.cjs" });
  process.argv = [process.execPath, process.execPath, ...args];
  process.on("exit", () => {
    if (process.exitCode === 0) writeFileSync(cache, script.createCachedData());
  });
  script.runInThisContext()(require);
}
