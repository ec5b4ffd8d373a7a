// One lint config for the whole workspace. The restrictions encode DESIGN rules 1 and 7:
// runtime code in packages/ reaches the environment, the wall clock and child processes only
// through ports, so the same loop runs for real, in tests and under `hb simulate`.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const sideEffectImports = [
  { name: "child_process", message: "Spawn through the Executor port (DESIGN rule 1)." },
  { name: "node:child_process", message: "Spawn through the Executor port (DESIGN rule 1)." },
];

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "**/.turbo/**", "**/coverage/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  {
    files: ["packages/*/src/**/*.ts"],
    ignores: ["**/*.test.ts", "**/adapters/**"],
    rules: {
      "no-restricted-imports": ["error", { paths: sideEffectImports, patterns: [{ group: ["@hb/testkit"], message: "Test-only." }] }],
      "no-restricted-properties": [
        "error",
        { object: "process", property: "env", message: "Only apps read the environment (DESIGN rule 7)." },
        { object: "Date", property: "now", message: "Use the Clock port (DESIGN rule 7)." },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", setTimeout: "readonly" } },
  },
);
