import { defineConfig } from "tsup";

// One bundle with everything inlined: a cold start reads a few files, not a dependency tree.
export default defineConfig({
  entry: { main: "src/main.ts" },
  format: ["esm"],
  target: "node20",
  clean: true,
  sourcemap: true,
  splitting: true,
  noExternal: [/.*/],
});
