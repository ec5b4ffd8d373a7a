import { defineConfig } from "tsup";

// One bundle with everything inlined: a cold start reads a few files, not a dependency tree.
export default defineConfig({
  entry: { main: "src/main.ts" },
  format: ["esm"],
  target: "node24",
  clean: true,
  sourcemap: true,
  splitting: true,
  // All but the test kit, which only the demo loads, and only where a checkout has it.
  noExternal: [/^(?!@hb\/testkit$)/],
  external: ["@hb/testkit"],
  // Bundled CommonJS dependencies (pino and its helpers) call require().
  banner: { js: 'import { createRequire as __hbCreateRequire } from "node:module"; const require = __hbCreateRequire(import.meta.url);' },
});
