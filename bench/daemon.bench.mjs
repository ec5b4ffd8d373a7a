#!/usr/bin/env node
// hbd with 64 pools: its RSS and CPU per round, alone and with its children (its storage workers),
// its live workers, event-loop lag p99, and how late healthy pools' rounds start while 0, 8 or 32
// pools hang in the kernel (a FUSE mount whose writes never answer: each hung write's worker is
// killed, stays stuck in the kernel, and the pool's next try starts another).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { EXEC_ARGV, children, cpuMs, read, statFields, treeMs, writeHbdProperties } from "./proc.mjs";
import { faultFsUnavailableReason, mountFaultFs } from "../tooling/testkit/dist/index.js";

const HBD = fileURLToPath(new URL("../apps/daemon/bin/hbd.js", import.meta.url));
const POOLS = 64;
const FREQUENCY_MS = 20_000;
const WARMUP_MS = 25_000;
const WINDOW_MS = Number(process.env.HB_BENCH_WINDOW_MS ?? 40_000);

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) {
  console.log(`skipped: FUSE unavailable (${unavailable})`);
  process.exit(0);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const rssMiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(read(`/proc/${pid}/status`) ?? "")?.[1] ?? 0) / 1024;
/** A child hbd gave up on: killed (SIGKILL pending) but held in the kernel by the hung mount. */
const pending = (status, key) => BigInt(`0x${new RegExp(`${key}:\\s+([0-9a-f]+)`).exec(status)?.[1] ?? "0"}`);
const killed = (pid) => {
  const status = read(`/proc/${pid}/status`) ?? "";
  return ((pending(status, "SigPnd") | pending(status, "ShdPnd")) & (1n << 8n)) !== 0n; // SIGKILL is signal 9
};
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
  const file = writeHbdProperties(root, { frequencyMs: FREQUENCY_MS, pools });
  const hbd = spawn(process.execPath, [...EXEC_ARGV, HBD, "--file", file, "--log-level", "debug"], { stdio: ["ignore", "pipe", "pipe"] });
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
  const treeStart = treeMs(hbd.pid);
  const windowStart = attempts.at(-1)?.startedAtMs ?? 0;
  let lag = 0;
  for (let waited = 0; waited < WINDOW_MS; waited += 5000) {
    await sleep(5000);
    const body = await (await fetch(`http://${status}/status`)).json();
    lag = Math.max(lag, body.eventLoopLagP99Ms);
  }
  const cpu = cpuMs(hbd.pid) - cpuStart;
  const tree = treeMs(hbd.pid) - treeStart;
  const rss = rssMiB(hbd.pid);
  const live = children(hbd.pid).filter((pid) => statFields(pid)?.[0] !== "Z");
  const rssTotal = rss + live.reduce((sum, pid) => sum + rssMiB(pid), 0);
  const kept = live.filter((pid) => !killed(pid)).length;
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
  return { hung, rss, rssTotal, cpuPerRound: cpu / rounds, treePerRound: tree / rounds, kept, killed: live.length - kept, lag, slips, stuck };
}

console.log(
  `| hung pools of ${POOLS} | hbd RSS | RSS with children | hbd CPU per round (${FREQUENCY_MS / 1000} s) | with children | live workers (killed, stuck) | event-loop lag p99 | healthy rounds | start slip median | p99 (bound < 20 ms at 8 hung) | max | stuck children |`,
);
console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
for (const hung of [0, 8, 32]) {
  const r = await scenario(hung);
  console.log(
    `| ${r.hung} | ${r.rss.toFixed(0)} MiB | ${r.rssTotal.toFixed(0)} MiB | ${r.cpuPerRound.toFixed(0)} ms | ${r.treePerRound.toFixed(0)} ms | ${r.kept} (${r.killed}) | ${r.lag.toFixed(1)} ms | ${r.slips.length} | ${quantile(r.slips, 0.5).toFixed(1)} ms | ${quantile(r.slips, 0.99).toFixed(1)} ms | ${(r.slips.at(-1) ?? NaN).toFixed(1)} ms | ${r.stuck} |`,
  );
}
console.log(
  `\nWindow ${WINDOW_MS / 1000} s after a ${WARMUP_MS / 1000} s warm-up; CPU and RSS "with children" add hbd's storage workers, live or reaped in the window, to hbd's own. Live workers are hbd's children at the window's end; killed ones (SIGKILL pending, held by the hung mount) are in brackets.`,
);
