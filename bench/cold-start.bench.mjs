#!/usr/bin/env node
// CLI cold start: hb's read paths, started as the agent starts them (a fresh process each time),
// against `node -e 0`. Medians over many runs; storage I/O still happens in a child process.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.argv[2] ?? 40);
const hb = fileURLToPath(new URL("../apps/cli/bin/hb.js", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "hb-cold-"));
const pool = join(root, "pool");
mkdirSync(join(pool, "KVMHA"), { recursive: true });
writeFileSync(join(pool, "KVMHA", "hb-10.0.0.5"), `${Math.floor(Date.now() / 1000)}\n`);
// The pool appears mounted over NFS in the mount table hb reads.
writeFileSync(join(root, "mounts"), `10.0.0.2:/export ${pool} nfs rw,relatime,vers=3 0 0\n`);
writeFileSync(join(root, "agent.properties"), `hb.mounts.file=${join(root, "mounts")}\n`);
const env = { ...process.env, AGENT_PROPS: join(root, "agent.properties") };

const commands = [
  ["node -e 0", ["-e", "0"]],
  ["hb --version", [hb, "--version"]],
  ["hb nfs check", [hb, "nfs", "check", "--mount", pool, "--host", "10.0.0.5", "--max-age", "60"]],
  ["hb compat kvmheartbeat -r", [hb, "compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", pool, "-h", "10.0.0.5", "-r", "-t", "60"]],
];

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const results = [];
for (const [name, args] of commands) {
  const first = spawnSync(process.execPath, args, { env, encoding: "utf8" });
  if (first.status !== 0) throw new Error(`${name} failed (${first.status}): ${first.stdout}${first.stderr}`);
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    spawnSync(process.execPath, args, { env, stdio: "ignore" });
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  results.push({ name, median: median(times), output: first.stdout.split("\n")[0] });
}
rmSync(root, { recursive: true, force: true });
const base = results[0].median;
console.log(`| command (${RUNS} runs each) | median | vs node -e 0 | first line |`);
console.log("|---|---:|---:|---|");
for (const row of results) console.log(`| \`${row.name}\` | ${row.median.toFixed(1)} ms | ${(row.median / base).toFixed(2)}× | ${row.output.slice(0, 60)} |`);
