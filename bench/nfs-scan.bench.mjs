#!/usr/bin/env node
// `hb nfs scan` over pools of 1 000, 10 000 and 50 000 heartbeat files: the whole command as an
// operator runs it (Node start, config, mount table, the storage worker, judging, JSON output),
// median of several runs. Then the cold start of the two read paths a neighbour runs, against
// `node -e 0`. Needs the built CLI (pnpm --filter @hb/cli build).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../apps/cli/bin/hb.js", import.meta.url));
if (!existsSync(fileURLToPath(new URL("../apps/cli/dist/main.js", import.meta.url)))) {
  console.log("hb is not built: run `pnpm --filter @hb/cli build` first");
  process.exit(1);
}

const SIZES = [1_000, 10_000, 50_000];
const RUNS = 5;
const now = Math.floor(Date.now() / 1000);
const root = mkdtempSync(join(tmpdir(), "hb-bench-scan-"));

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Wall time (ms) and max RSS (KiB, hb and its largest child) of one run. */
function measure(argv) {
  const started = process.hrtime.bigint();
  const result = spawnSync("/usr/bin/time", ["-f", "%M", process.execPath, ...argv], { encoding: "utf8", maxBuffer: 1 << 30 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (result.status !== 0 && result.status !== 1) throw new Error(`${argv.join(" ")} exited ${result.status}: ${result.stderr}`);
  const rss = Number(result.stderr.trim().split("\n").at(-1));
  return { ms, rss, stdout: result.stdout };
}

function pool(size) {
  const dir = join(root, `pool-${size}`);
  mkdirSync(join(dir, "mnt", "KVMHA"), { recursive: true });
  for (let i = 0; i < size; i++) {
    const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    // Mostly fresh, every tenth one stale: the verdicts differ, as in a real pool.
    writeFileSync(join(dir, "mnt", "KVMHA", `hb-${host}`), `${now - (i % 10 === 0 ? 600 : i % 50)}\n`);
  }
  writeFileSync(join(dir, "mounts"), `10.0.0.2:/export ${join(dir, "mnt")} nfs4 rw 0 0\n`);
  writeFileSync(join(dir, "agent.properties"), `hb.mounts.file=${join(dir, "mounts")}\n`);
  return dir;
}

try {
  console.log(`Node ${process.version}, ${RUNS} runs each, median; files on ${tmpdir()} (local disk, page cache warm after the first run)\n`);
  console.log("| heartbeat files | `hb nfs scan --json` | of which the storage worker | worker per file | `hb nfs scan` (table) | max RSS |");
  console.log("|---:|---:|---:|---:|---:|---:|");
  for (const size of SIZES) {
    const dir = pool(size);
    const args = ["nfs", "scan", "--mount", join(dir, "mnt"), "--file", join(dir, "agent.properties")];
    const first = measure([bin, ...args, "--json"]);
    const hosts = JSON.parse(first.stdout).hosts;
    if (hosts !== size) throw new Error(`scan saw ${hosts} hosts, expected ${size}`);
    const json = Array.from({ length: RUNS }, () => measure([bin, ...args, "--json"]));
    const table = Array.from({ length: RUNS }, () => measure([bin, ...args]));
    const ms = median(json.map((run) => run.ms));
    // The worker's time as hb measured it: its Node start, the listing and every read.
    const worker = median(json.map((run) => JSON.parse(run.stdout).scanMs));
    console.log(
      `| ${size.toLocaleString("en")} | ${ms.toFixed(0)} ms | ${worker.toFixed(0)} ms | ${((worker * 1000) / size).toFixed(1)} µs | ${median(table.map((run) => run.ms)).toFixed(0)} ms | ${(Math.max(...json.map((run) => run.rss)) / 1024).toFixed(0)} MiB |`,
    );
  }

  const dir = pool(1);
  const mount = join(dir, "mnt");
  const env = ["--file", join(dir, "agent.properties")];
  const cold = [
    ["`node -e 0`", ["-e", "0"]],
    ["`hb --version`", [bin, "--version"]],
    ["`hb nfs check`", [bin, "nfs", "check", "--mount", mount, "--host", "10.0.0.0", ...env]],
    ["`hb compat kvmheartbeat -r`", [bin, "compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", mount, "-h", "10.0.0.0", "-r", "-t", "60"]],
  ];
  process.env.AGENT_PROPS = join(dir, "agent.properties");
  console.log("\n| cold start | median | vs `node -e 0` |");
  console.log("|---|---:|---:|");
  let base = 0;
  for (const [name, argv] of cold) {
    measure(argv);
    const ms = median(Array.from({ length: RUNS * 2 }, () => measure(argv).ms));
    if (base === 0) base = ms;
    console.log(`| ${name} | ${ms.toFixed(0)} ms | ${(ms / base).toFixed(2)}x |`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}
