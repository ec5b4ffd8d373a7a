#!/usr/bin/env node
// Runs every benchmark under bench/ (each prints Markdown tables) and writes bench/RESULTS.md
// with the machine, the date and every table. Benchmarks measure; they never pass or fail on speed.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, release, totalmem } from "node:os";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
const only = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((name) => name.endsWith(".bench.mjs"))
  .filter((name) => only.length === 0 || only.some((wanted) => name.startsWith(wanted)))
  .sort();
const started = performance.now();
const sections = [];
let status = 0;
for (const bench of benches) {
  console.log(`\n## ${bench}\n`);
  const benchStart = performance.now();
  const result = spawnSync(process.execPath, [`${dir}/${bench}`], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  process.stdout.write(result.stdout);
  status ||= result.status ?? 1;
  const firstComment = readFileSync(`${dir}/${bench}`, "utf8").split("\n").filter((line) => line.startsWith("// ")).map((line) => line.slice(3)).join(" ");
  sections.push(`## ${bench}\n\n${firstComment}\n\n${result.stdout.trim()}\n\n(${((performance.now() - benchStart) / 1000).toFixed(0)} s)`);
}
const cpu = cpus();
const machine = `${cpu.length} × ${cpu[0]?.model.trim() ?? "?"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux ${release()}, Node ${process.versions.node}`;
if (only.length === 0) {
  writeFileSync(
    `${dir}/RESULTS.md`,
    `# Benchmark results\n\nMeasured ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC on ${machine}, by \`pnpm bench\` (${((performance.now() - started) / 1000).toFixed(0)} s in all).\n\n${sections.join("\n\n")}\n`,
  );
  console.log(`\nwrote bench/RESULTS.md (${((performance.now() - started) / 1000).toFixed(0)} s)`);
}
process.exit(status);
