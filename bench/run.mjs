#!/usr/bin/env node
// Runs every benchmark under bench/ and prints its table. Benchmarks arrive with the issues
// that need them; until then there is nothing to measure.
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const benches = readdirSync(dir).filter((name) => name.endsWith(".bench.mjs")).sort();
if (benches.length === 0) console.log("no benchmarks yet");
let status = 0;
for (const bench of benches) {
  console.log(`\n## ${bench}`);
  status ||= spawnSync(process.execPath, [`${dir}/${bench}`], { stdio: "inherit" }).status ?? 1;
}
process.exit(status);
