import { defineConfig } from "tsup";

// `errors` and `files` alone: an entry point can map error codes, or read a file safely, without loading the schemas.
export default defineConfig({ entry: ["src/index.ts", "src/errors.ts", "src/files.ts"], format: ["esm"], target: "node24", dts: true, clean: true, sourcemap: true });
