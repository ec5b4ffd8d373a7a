import { defineConfig } from "tsup";

// One bundle with everything inlined: a cold start reads a few files, not a dependency tree.
export default defineConfig({
  entry: { main: "src/main.ts" },
  format: ["esm"],
  target: "node24",
  clean: true,
  sourcemap: true,
  // Less to parse at every start: the agent starts hb for every heartbeat and check.
  minify: true,
  splitting: true,
  noExternal: [/.*/],
  // Bundled CommonJS dependencies call require() (none on the hot path).
  banner: { js: 'import { createRequire as __hbCreateRequire } from "node:module"; const require = __hbCreateRequire(import.meta.url);' },
});
