#!/usr/bin/env node
// hbd with 64 pools: its RSS, CPU per round, event-loop lag p99, and how late healthy pools'
// rounds start while 0, 8 or 32 pools hang in the kernel (a FUSE mount whose writes never answer).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { faultFsUnavailableReason, mountFaultFs } from "../tooling/testkit/dist/index.js";

const HBD = fileURLToPath(new URL("../apps/daemon/bin/hbd.js", import.meta.url));
const POOLS = 64;
const FREQUENCY_MS = 20_000;
const WARMUP_MS = 25_000;
const WINDOW_MS = Number(process.env.HB_BENCH_WINDOW_MS ?? 40_000);
const TICKS = 100; // clock ticks per second (/proc/<pid>/stat)

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) {
  console.log(`skipped: FUSE unavailable (${unavailable})`);
  process.exit(0);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const cpuMs = (pid) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
};
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

async function scenario(hung) {
  const root = mkdtempSync(join(tmpdir(), "hb-bench-hbd-"));
  const fuse = hung > 0 ? await mountFaultFs() : null;
  for (let i = 0; i < hung; i++) mkdirSync(join(fuse.backingDir, `h${i}`));
  const pools = [];
  for (let i = 0; i < hung; i++) pools.push(join(fuse.mountPoint, `h${i}`));
  for (let i = 0; i < POOLS - hung; i++) {
    const dir = join(root, `g${i}`);
    mkdirSync(dir);
    pools.push(dir);
  }
  writeFileSync(join(root, "mounts"), pools.map((pool) => `10.0.0.2:/export ${pool} nfs rw 0 0`).join("\n") + "\n");
  const file = join(root, "agent.properties");
  writeFileSync(
    file,
    [
      "heartbeat.update.timeout=10000",
      `kvm.heartbeat.update.frequency=${FREQUENCY_MS}`,
      "kvm.heartbeat.update.max.tries=2",
      "kvm.heartbeat.update.retry.sleep=500",
      "hb.fence.dry.run=true",
      "hb.fence.scope=all",
      `hb.fence.sysrq.trigger=${join(root, "sysrq")}`,
      "hb.host.ip=10.0.0.5",
      "hb.status.listen=127.0.0.1:0",
      `hb.state.dir=${join(root, "state")}`,
      `hb.mounts.file=${join(root, "mounts")}`,
      `hb.pools=${pools.map((pool) => `nfs:${pool}`).join(";")}`,
    ].join("\n") + "\n",
  );
  const hbd = spawn(process.execPath, [HBD, "--file", file, "--log-level", "debug"], { stdio: ["ignore", "pipe", "pipe"] });
  const attempts = [];
  let buffered = "";
  let stderr = "";
  hbd.stdout.on("data", (chunk) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop();
    for (const line of lines) {
      if (!line.includes('"msg":"attempt"')) continue;
      const entry = JSON.parse(line);
      attempts.push(entry);
    }
  });
  hbd.stderr.on("data", (chunk) => (stderr += chunk));
  await sleep(WARMUP_MS);
  await fuse?.setFault({ hang: true, ops: ["create", "write", "rename", "fsync", "open", "mkdir", "unlink"] });
  const status = /status: http:\/\/(\S+)\/status/.exec(stderr)?.[1];
  const cpuStart = cpuMs(hbd.pid);
  const windowStart = attempts.at(-1)?.startedAtMs ?? 0;
  let lag = 0;
  for (let waited = 0; waited < WINDOW_MS; waited += 5000) {
    await sleep(5000);
    const body = await (await fetch(`http://${status}/status`)).json();
    lag = Math.max(lag, body.eventLoopLagP99Ms);
  }
  const cpu = cpuMs(hbd.pid) - cpuStart;
  const rss = rssMiB(hbd.pid);
  const stuck = (await (await fetch(`http://${status}/status`)).json()).stuckChildren;
  hbd.kill("SIGTERM");
  await new Promise((resolve) => hbd.once("exit", resolve));
  await fuse?.unmount();
  rmSync(root, { recursive: true, force: true });

  // Round start slip of healthy pools: start − (previous round's end + frequency).
  const byPool = new Map();
  for (const a of attempts) if (a.pool.startsWith("g") && a.startedAtMs >= windowStart && a.try === 1) (byPool.get(a.pool) ?? byPool.set(a.pool, []).get(a.pool)).push(a);
  const slips = [];
  for (const list of byPool.values()) for (let i = 1; i < list.length; i++) slips.push(list[i].startedAtMs - (list[i - 1].startedAtMs + list[i - 1].latencyMs + FREQUENCY_MS));
  slips.sort((a, b) => a - b);
  const rounds = WINDOW_MS / FREQUENCY_MS;
  return { hung, rss, cpuPerRound: cpu / rounds, lag, slips, stuck };
}

console.log(`| hung pools of ${POOLS} | RSS | hbd CPU per round (${FREQUENCY_MS / 1000} s) | event-loop lag p99 | healthy rounds | start slip median | p99 | max | stuck children |`);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const hung of [0, 8, 32]) {
  const r = await scenario(hung);
  console.log(
    `| ${r.hung} | ${r.rss.toFixed(0)} MiB | ${r.cpuPerRound.toFixed(0)} ms | ${r.lag.toFixed(1)} ms | ${r.slips.length} | ${quantile(r.slips, 0.5).toFixed(1)} ms | ${quantile(r.slips, 0.99).toFixed(1)} ms | ${(r.slips.at(-1) ?? NaN).toFixed(1)} ms | ${r.stuck} |`,
  );
}
console.log(`\nEach write is a child process (hb-storage-worker); hbd's own CPU excludes them. Window ${WINDOW_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up.`);
