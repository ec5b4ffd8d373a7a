#!/usr/bin/env node
// CLI cold start: hb's read paths, started as the agent starts them (a fresh process each time), against `node -e 0` of the same Node, and upstream's bash read beside them. Commands take turns (one run of each, then again), so a busy machine slows them alike. Wall time is the median; CPU per call is user + system time of the children, from the shell's `times`. The packaged executable (packaging/dist/hb-linux-x64, built by `pnpm release`, or HB_EXECUTABLE) is measured when present.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const RUNS = Number(process.argv[2] ?? 40);
const CPU_RUNS = Math.max(10, Math.floor(RUNS / 2));
const path = (relative) => fileURLToPath(new URL(relative, import.meta.url));
const hb = path("../apps/cli/bin/hb.js");
const executable = process.env.HB_EXECUTABLE || path("../packaging/dist/hb-linux-x64");
const pinned = JSON.parse(readFileSync(path("../packaging/node.json"), "utf8")).version;
// `pnpm bench` runs on the pinned Node itself (scripts/setup.mjs); run otherwise, the one release built.
const node24 = process.versions.node === pinned ? process.execPath : path(`../packaging/.cache/node-linux-${process.arch}-${pinned}/bin/node`);
const root = mkdtempSync(join(tmpdir(), "hb-cold-"));
const pool = join(root, "pool");
mkdirSync(join(pool, "KVMHA"), { recursive: true });
writeFileSync(join(pool, "KVMHA", "hb-10.0.0.5"), `${Math.floor(Date.now() / 1000)}\n`);
// The pool appears mounted over NFS in the mount table hb reads.
writeFileSync(join(root, "mounts"), `10.0.0.2:/export ${pool} nfs rw,relatime,vers=3 0 0\n`);
writeFileSync(join(root, "agent.properties"), `hb.mounts.file=${join(root, "mounts")}\n`);
// Upstream's reader (kvmheartbeat.sh -r, reference §1.2): the file's timestamp against `date +%s`.
const upstream = join(root, "kvmheartbeat-read.sh");
writeFileSync(
  upstream,
  [
    "#!/bin/bash",
    'hbFile="$1/KVMHA/hb-$2"',
    "now=$(date +%s)",
    'hb=$(cat "$hbFile" 2>/dev/null)',
    'diff=$(expr "$now" - "$hb" 2>/dev/null)',
    'if [ -n "$diff" ] && [ "$diff" -gt "$3" ]; then echo "=====> Considering host as DEAD <====="; else echo "=====> ALIVE <====="; fi',
    "",
  ].join("\n"),
  { mode: 0o755 },
);
const env = { ...process.env, AGENT_PROPS: join(root, "agent.properties") };
// A read that keeps the storage in a child process the usual way: Node loads child_process, starts
// one dd with its output piped, and prints the line. hb's one-shot reads start their child without
// child_process (FileExecutor), so this is what that saves, not a floor.
const floor = [
  "-e",
  `const c=require("child_process").spawn("dd",["if=${join(pool, "KVMHA", "hb-10.0.0.5")}","iflag=nofollow,nonblock,fullblock","bs=4096","count=1","status=none"],{stdio:["ignore","pipe","pipe"],env:{...process.env,LC_ALL:"C"}});let o="";c.stdout.on("data",(d)=>{o+=d});c.on("close",()=>process.stdout.write(o?"=====> ALIVE <=====\\n":"?\\n"))`,
];
const read = ["compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", pool, "-h", "10.0.0.5", "-r", "-t", "60"];

// [name, baseline row name, file, args]
const commands = [
  ["upstream bash read", null, "/bin/bash", [upstream, pool, "10.0.0.5", "60"]],
  [`node -e 0 (Node ${process.versions.node})`, null, process.execPath, ["-e", "0"]],
  ["hb --version (bin/hb.js)", `node -e 0 (Node ${process.versions.node})`, process.execPath, [hb, "--version"]],
  ["hb nfs check (bin/hb.js)", `node -e 0 (Node ${process.versions.node})`, process.execPath, [hb, "nfs", "check", "--mount", pool, "--host", "10.0.0.5", "--max-age", "60"]],
  ["hb compat kvmheartbeat -r (bin/hb.js)", `node -e 0 (Node ${process.versions.node})`, process.execPath, [hb, ...read]],
];
if (existsSync(executable) && existsSync(node24)) {
  const base = `node -e 0 (Node ${pinned})`;
  if (node24 !== process.execPath) commands.push([base, null, node24, ["-e", "0"]]);
  commands.push(
    ["node -e spawning one dd (child_process)", base, node24, floor],
    ["hb --version (executable)", base, executable, ["--version"]],
    ["hb nfs check (executable)", base, executable, ["nfs", "check", "--mount", pool, "--host", "10.0.0.5", "--max-age", "60"]],
    ["hb compat kvmheartbeat -r (executable)", base, executable, read],
  );
} else {
  console.log(`(no packaged executable at ${executable}, or no Node ${pinned} in packaging/.cache: run \`pnpm release\` to measure it)\n`);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** User + system CPU of `count` runs of the command, per run, from the shell's `times` (children's line). */
function cpuPerCall(file, args, count) {
  const loop = 'n=$1; shift; i=0; while [ "$i" -lt "$n" ]; do "$@" >/dev/null 2>&1; i=$((i+1)); done; times';
  const result = spawnSync("/bin/sh", ["-c", loop, "sh", String(count), file, ...args], { env, encoding: "utf8" });
  const children = result.stdout.trim().split("\n").at(-1) ?? "";
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, [, m, s]) => sum + Number(m) * 60 + Number(s), 0);
  return (seconds * 1000) / count;
}

const rows = commands.map(([name, base, file, args]) => {
  const first = spawnSync(file, args, { env, encoding: "utf8" });
  if (first.status !== 0) throw new Error(`${name} failed (${first.status}): ${first.stdout}${first.stderr}`);
  return { name, base, file, args, times: [], output: first.stdout.split("\n")[0] };
});
for (let i = 0; i < RUNS; i++) {
  for (const row of rows) {
    const start = process.hrtime.bigint();
    spawnSync(row.file, row.args, { env, stdio: "ignore" });
    row.times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
}
for (const row of rows) row.cpu = cpuPerCall(row.file, row.args, CPU_RUNS);
rmSync(root, { recursive: true, force: true });

const medians = new Map(rows.map((row) => [row.name, median(row.times)]));
const [one, five] = loadavg();
console.log(`Load average at the end: ${one.toFixed(2)} (1 min), ${five.toFixed(2)} (5 min), on ${availableParallelism()} cores.\n`);
console.log(`| command (${RUNS} runs each, in turns) | median | vs its \`node -e 0\` | CPU per call (${CPU_RUNS} runs) | first line |`);
console.log("|---|---:|---:|---:|---|");
for (const row of rows) {
  const ratio = row.base === null ? "" : `${(medians.get(row.name) / medians.get(row.base)).toFixed(2)}×`;
  console.log(`| \`${row.name}\` | ${medians.get(row.name).toFixed(1)} ms | ${ratio} | ${row.cpu.toFixed(1)} ms | ${row.output.slice(0, 60)} |`);
}
