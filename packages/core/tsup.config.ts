import { defineConfig } from "tsup";

// `adapters` alone: the CLI's entry points build a clock and an executor without loading the loop.
export default defineConfig({ entry: { index: "src/index.ts", adapters: "src/adapters/index.ts" }, format: ["esm"], target: "node24", dts: true, clean: true, sourcemap: true });
