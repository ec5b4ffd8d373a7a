import { defineConfig } from "tsup";

// One bundle with everything inlined: a cold start reads a few files, not a dependency tree.
export default defineConfig({
  // fault-mount: also used by the benchmarks, which run as plain Node scripts.
  entry: { main: "src/main.ts", "fault-mount": "src/fault-mount.ts" },
  format: ["esm"],
  target: "node20",
  clean: true,
  sourcemap: true,
  splitting: true,
  noExternal: [/.*/],
  // Bundled CommonJS dependencies (pino and its helpers) call require().
  banner: { js: 'import { createRequire as __hbCreateRequire } from "node:module"; const require = __hbCreateRequire(import.meta.url);' },
});
