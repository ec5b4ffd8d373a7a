import { defineConfig } from "tsup";

// `errors` alone: an entry point can map error codes without loading the schemas.
export default defineConfig({ entry: ["src/index.ts", "src/errors.ts"], format: ["esm"], target: "node20", dts: true, clean: true, sourcemap: true });
