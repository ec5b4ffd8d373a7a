#!/usr/bin/env node
// CPU per heartbeat: hbd with its children (its storage workers) for 1, 16 and 64 pools, and
// upstream's write as the agent runs it (bash kvmheartbeat.sh -i -p -m -h, no -r), in the same run.
// hbd runs with kvm.heartbeat.update.frequency=2000 on local folders that a planted mount table
// lists as NFS, fencing in dry run, with the V8 flags the packaged executable starts with. Its CPU over the window is its own user + system time, what its
// reaped children spent (cutime + cstime) and its live children's time, sampled by pid at each
// slice's edges so a kept worker's time before the window is left out. Heartbeats are hbd's attempt
// log lines. The window (HB_BENCH_WINDOW_MS; default 60 s at 64 pools, 20 s below) is cut into
// 10 s slices: the median of the slices' CPU per heartbeat, and the mean over the whole window.
// Then the memory of hbd with 64 pools and their workers alive, against the bound of 120 MB.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXEC_ARGV, TICKS, children, read, statFields, treeMs, writeHbdProperties } from "./proc.mjs";
import { UPSTREAM_WRITE_SCRIPT } from "../tooling/testkit/dist/index.js";

const HBD = fileURLToPath(new URL("../apps/daemon/bin/hbd.js", import.meta.url));
const HB = fileURLToPath(new URL("../apps/cli/bin/hb.js", import.meta.url));
const FREQUENCY_MS = 2000;
const DEFAULT_FREQUENCY_MS = 60_000; // kvm.heartbeat.update.frequency's default
const WARMUP_MS = 8000;
const SLICE_MS = 10_000;
const windowMs = (pools) => Number(process.env.HB_BENCH_WINDOW_MS ?? (pools >= 64 ? 60_000 : 20_000));
const UPSTREAM_RUNS = 200;
const MEMORY_BOUND_MB = 120;
const MiB = 2 ** 20;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length === 0 ? NaN : sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const statusKiB = (pid, key) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0);
const pssKiB = (pid) => Number(/Pss:\s+(\d+)/.exec(read(`/proc/${pid}/smaps_rollup`) ?? "")?.[1] ?? 0);
const exeName = (pid) => {
  try {
    return basename(readlinkSync(`/proc/${pid}/exe`));
  } catch {
    return "?";
  }
};

/** Whether this build of hbd knows hb.storage.worker (`node`: a Node child per call, the old way). */
function knowsStorageWorker(root) {
  const file = join(root, "probe.properties");
  writeFileSync(file, "hb.storage.worker=node\n");
  const shown = spawnSync(process.execPath, [HB, "config", "show", "--json", "--file", file], { encoding: "utf8" });
  try {
    return JSON.parse(shown.stdout).values["hb.storage.worker"] === "node";
  } catch {
    return false;
  }
}

async function hbd(root, pools, worker, { frequencyMs = FREQUENCY_MS, warmupMs = WARMUP_MS, window = windowMs(pools) } = {}) {
  const dir = join(root, `hbd-${pools}-${worker ?? "default"}-${frequencyMs}`);
  const folders = Array.from({ length: pools }, (_, i) => join(dir, `p${i}`));
  for (const folder of folders) mkdirSync(folder, { recursive: true });
  const file = writeHbdProperties(dir, { frequencyMs, pools: folders, extra: worker === undefined ? [] : [`hb.storage.worker=${worker}`] });
  const child = spawn(process.execPath, [...EXEC_ARGV, HBD, "--file", file, "--log-level", "debug"], { stdio: ["ignore", "pipe", "pipe"] });
  const attempts = []; // arrival times of attempt lines
  let failed = 0; // attempts that did not write: the numbers would not be a heartbeat's cost
  let storageWorker = "?"; // what hbd says it writes with
  let buffered = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of lines) {
      if (line.includes('"msg":"attempt"')) {
        attempts.push(performance.now());
        if (!line.includes('"result":"ok"')) failed++;
      }
      else if (line.includes('"msg":"storage worker: ')) storageWorker = basename(JSON.parse(line).storageWorker);
    }
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  await Promise.race([sleep(warmupMs), exited]);
  if (child.exitCode !== null) throw new Error(`hbd exited with ${child.exitCode}: ${stderr.trim()}`);

  const edges = [{ at: performance.now(), cpuMs: treeMs(child.pid) }];
  while (edges.at(-1).at - edges[0].at < window - 1) {
    await sleep(Math.min(SLICE_MS, window - (edges.at(-1).at - edges[0].at)));
    edges.push({ at: performance.now(), cpuMs: treeMs(child.pid) });
  }
  const slices = [];
  for (let i = 1; i < edges.length; i++) {
    const heartbeats = attempts.filter((at) => at > edges[i - 1].at && at <= edges[i].at).length;
    slices.push({ heartbeats, cpuMs: edges[i].cpuMs - edges[i - 1].cpuMs });
  }
  // Memory with every pool's worker alive (the kept ones; a per-call child only while it writes).
  const workers = children(child.pid).filter((pid) => statFields(pid)?.[0] !== "Z");
  const memory = {
    hbdRss: statusKiB(child.pid, "VmRSS") * 1024,
    hbdAnon: statusKiB(child.pid, "RssAnon") * 1024,
    workersRss: workers.reduce((sum, pid) => sum + statusKiB(pid, "VmRSS") * 1024, 0),
    pss: [child.pid, ...workers].reduce((sum, pid) => sum + pssKiB(pid) * 1024, 0),
    workers: workers.length,
  };
  const exes = [...new Set(workers.map(exeName).filter((name) => name !== "?"))].join(", ") || "none alive";
  child.kill("SIGTERM");
  await exited;
  const heartbeats = slices.reduce((sum, s) => sum + s.heartbeats, 0);
  const cpuMs = slices.reduce((sum, s) => sum + s.cpuMs, 0);
  return {
    name: `hbd (${storageWorker})`,
    failed,
    pools,
    window,
    heartbeats,
    median: median(slices.filter((s) => s.heartbeats > 0).map((s) => s.cpuMs / s.heartbeats)),
    mean: cpuMs / heartbeats,
    cores: cpuMs / (edges.at(-1).at - edges[0].at),
    exes,
    memory,
  };
}

// Upstream's kvmheartbeat.sh as the agent runs it to write: its options, the -i check, the mount
// check (`cat /proc/mounts | grep nfs | grep $MountPoint`, here on the planted mount table: the
// same commands), then the test kit's copy of its write mode, sourced (no process of its own).
function upstreamWrite(root, name) {
  const dir = join(root, name);
  const pool = join(dir, "pool");
  mkdirSync(pool, { recursive: true });
  const mounts = join(dir, "mounts");
  writeFileSync(mounts, `10.0.0.2:/export ${pool} nfs rw 0 0\n`);
  const script = join(dir, "kvmheartbeat.sh");
  writeFileSync(
    script,
    [
      "#!/bin/bash",
      "while getopts 'i:p:m:h:t:rc' OPTION",
      "do",
      "  case $OPTION in",
      '  i) NfsSvrIP="$OPTARG" ;;',
      '  p) NfsSvrPath="$OPTARG" ;;',
      '  m) MountPoint="$OPTARG" ;;',
      '  h) HostIP="$OPTARG" ;;',
      "  r) rflag=1 ;;",
      '  t) interval="$OPTARG" ;;',
      "  c) cflag=1 ;;",
      "  esac",
      "done",
      'if [ -z "$NfsSvrIP" ]',
      "then",
      "   exit 1",
      "fi",
      `mounts=$(cat ${mounts} |grep nfs|grep $MountPoint)`,
      "if [ $? -gt 0 ]",
      "then",
      '   printf "Failed to remount $NfsSvrIP:$NfsSvrPath under $MountPoint"',
      "   exit 1",
      "fi",
      'set -- "$MountPoint" "$HostIP"',
      `. ${UPSTREAM_WRITE_SCRIPT}`,
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  const args = [script, "-i", "10.0.0.2", "-p", "/export", "-m", pool, "-h", "10.0.0.5"];
  const write = () => {
    const result = spawnSync("bash", args, { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`upstream's write failed (${result.status}): ${result.stdout}${result.stderr}`);
  };
  write(); // the first one creates KVMHA/ and the file
  const reaped = () => {
    const f = statFields("self");
    return Number(f[13]) + Number(f[14]);
  };
  // spawnSync reaps each run, so its CPU and its commands' land in this process's cutime + cstime.
  const before = reaped();
  const started = performance.now();
  for (let i = 0; i < UPSTREAM_RUNS; i++) write();
  const wallMs = (performance.now() - started) / UPSTREAM_RUNS;
  if (readFileSync(join(pool, "KVMHA", "hb-10.0.0.5"), "utf8").trim() === "") throw new Error("upstream's write left an empty file");
  return { cpuMs: ((reaped() - before) * 1000) / TICKS / UPSTREAM_RUNS, wallMs };
}

const root = mkdtempSync(join(tmpdir(), "hb-bench-cost-"));
try {
  const hasWorkerProperty = knowsStorageWorker(root);
  const upstream = upstreamWrite(root, "upstream-before");
  const runs = [];
  for (const pools of [1, 16, 64]) runs.push(await hbd(root, pools, undefined));
  if (hasWorkerProperty) runs.push({ ...(await hbd(root, 16, "node")), name: "hbd, hb.storage.worker=node (the old way)" });
  // At CloudStack's default frequency hbd's own timers (status, lag sampling) weigh more per heartbeat.
  const atDefault = await hbd(root, 64, undefined, { frequencyMs: DEFAULT_FREQUENCY_MS, warmupMs: DEFAULT_FREQUENCY_MS + 10_000, window: 2 * DEFAULT_FREQUENCY_MS });
  runs.push({ ...atDefault, name: `${atDefault.name}, every ${DEFAULT_FREQUENCY_MS / 1000} s (the default)` });
  const upstreamAgain = upstreamWrite(root, "upstream-after");
  const upstreamMs = (upstream.cpuMs + upstreamAgain.cpuMs) / 2;

  const ms = (value) => (value < 10 ? value.toFixed(2) : value.toFixed(1));
  console.log(`| writer | pools | heartbeats in window | CPU per heartbeat (median of ${SLICE_MS / 1000} s slices) | mean | vs upstream's write | CPU (cores) | live children |`);
  console.log("|---|---:|---:|---:|---:|---:|---:|---|");
  for (const r of runs) {
    console.log(
      `| ${r.name} | ${r.pools} | ${r.heartbeats} in ${r.window / 1000} s${r.failed === 0 ? "" : ` (${r.failed} failed since the start)`} | ${ms(r.median)} ms | ${ms(r.mean)} ms | ${(r.median / upstreamMs).toFixed(2)}× | ${r.cores.toFixed(3)} | ${r.memory.workers} (${r.exes}) |`,
    );
  }
  console.log(`| upstream's write (bash kvmheartbeat.sh, as the agent runs it) | 1 | ${UPSTREAM_RUNS} × 2 in turn | ${ms(upstreamMs)} ms | ${ms(upstream.cpuMs)} / ${ms(upstreamAgain.cpuMs)} ms | 1.00× |  | (${ms(upstream.wallMs)} ms wall per write) |`);
  console.log(
    `\nhbd's heartbeats come every ${FREQUENCY_MS / 1000} s per pool after a ${WARMUP_MS / 1000} s warm-up (the last row: every ${DEFAULT_FREQUENCY_MS / 1000} s, after ${DEFAULT_FREQUENCY_MS / 1000 + 10} s, over ${(2 * DEFAULT_FREQUENCY_MS) / 1000} s); its CPU counts everything hbd does in the window (status server, timers, records), divided by its heartbeats. Upstream's write: ${UPSTREAM_RUNS} runs before hbd's and ${UPSTREAM_RUNS} after, the CPU of bash and its commands (stat, date, cat, grep) per run; the agent's own fork of it is not counted. hbd's own CPU and its reaped children's come in ${1000 / TICKS} ms clock ticks, its live children's to the nanosecond (schedstat).`,
  );

  const big = runs.find((r) => r.pools === 64 && r !== runs.at(-1));
  const mib = (bytes) => `${(bytes / MiB).toFixed(1)} MiB`;
  const total = big.memory.hbdRss + big.memory.workersRss;
  console.log(`\n| 64 pools | hbd RSS | workers' RSS (summed) | total RSS | bound | PSS of hbd + workers | live workers |`);
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  console.log(
    `| ${big.name}, children: ${big.exes} | ${mib(big.memory.hbdRss)} | ${mib(big.memory.workersRss)} | ${mib(total)} (${(total / 1e6).toFixed(0)} MB) | ≤ ${MEMORY_BOUND_MB} MB | ${mib(big.memory.pss)} (${(big.memory.pss / 1e6).toFixed(0)} MB) | ${big.memory.workers} |`,
  );
  console.log(
    `\nSampled at the end of the 64-pool window; hbd's anonymous memory (its heap and stacks) is ${mib(big.memory.hbdAnon)} of its RSS. RSS counts shared pages (the workers' common code) once per process; PSS splits them among the processes sharing them, the Node executable's pages with every Node process on the machine (this bench's own among them).`,
  );
} finally {
  rmSync(root, { recursive: true, force: true });
}
