#!/usr/bin/env node
// hb beside upstream, case by case: each documented difference run through hb's drop-in entry
// points, next to what upstream's scripts and agent do with the same input (their logic, as the
// reference documents it: the mod-256 age, the missing file read as ALIVE, the grep ^key= fence
// setting, the promotion_score:0 rule).
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const hb = fileURLToPath(new URL("../apps/cli/bin/hb.js", import.meta.url));
const fixtures = fileURLToPath(new URL("../tooling/testkit/drbd/fixtures/", import.meta.url));
const fakeDrbdsetup = fileURLToPath(new URL("../tooling/testkit/drbd/fake-drbdsetup", import.meta.url));
const root = mkdtempSync(join(tmpdir(), "hb-upstream-"));
const epoch = () => Math.floor(Date.now() / 1000);
const run = (args, env = {}) => spawnSync(process.execPath, [hb, ...args], { encoding: "utf8", env: { ...process.env, ...env } });
const firstLine = (text) => text.split("\n")[0];
const rows = [];

// kvmheartbeat.sh -r: upstream's reader (reference §1.2: expr, `return $diff`, strict -gt).
function upstreamRead(content, interval, now) {
  const hb = Number.parseInt(content, 10);
  if (!/^\d+\s*$/.test(content)) return "=====> ALIVE <===== (expr fails on a missing or empty file)";
  const diff = now - hb;
  const returned = diff > interval ? diff % 256 : 0; // the exit status of `return $diff`
  return returned === 0 ? "=====> ALIVE <=====" : `DEAD ... was [${returned}] seconds ago`;
}
const pool = join(root, "pool");
mkdirSync(join(pool, "KVMHA"), { recursive: true });
writeFileSync(join(root, "mounts"), `10.0.0.2:/export ${pool} nfs rw 0 0\n`);
writeFileSync(join(root, "agent.properties"), `hb.mounts.file=${join(root, "mounts")}\n`);
// Ages in seconds (null: no file, -1: an empty file), written just before each check.
const readCases = [
  ["heartbeat 30 s old", 30],
  ["heartbeat 58 s old (-t 60)", 58],
  ["heartbeat 256 s old", 256],
  ["heartbeat 300 s old", 300],
  ["heartbeat file missing", null],
  ["heartbeat file empty", -1],
];
for (const [name, age] of readCases) {
  const now = epoch();
  const content = age === null ? null : age < 0 ? "" : `${now - age}\n`;
  const file = join(pool, "KVMHA", "hb-10.0.0.5");
  rmSync(file, { force: true });
  if (content !== null) writeFileSync(file, content);
  const result = run(["compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", pool, "-h", "10.0.0.5", "-r", "-t", "60"], { AGENT_PROPS: join(root, "agent.properties") });
  const ours = firstLine(result.stdout).replace(/^=====> Considering host as DEAD because last write on \[[^\]]*\] was \[(\d+)\] seconds ago.*$/, "DEAD ... was [$1] seconds ago");
  rows.push(["kvmheartbeat.sh -r", name, upstreamRead(content ?? "", 60, now), ours.replace(root, "…")]);
}

// The fence action as upstream's helper (PR #13090 v3) reads it: grep "^key=" | tail -1 | tr -d space.
function upstreamAction(text) {
  const line = text.split(/\r?\n/).filter((l) => l.startsWith("kvm.heartbeat.fence.action=")).at(-1);
  const value = line === undefined ? "" : line.slice(line.indexOf("=") + 1).replace(/\s/g, "");
  return ["log-only", "restart-agent", "graceful-reboot"].includes(value) ? value : "hard-reboot";
}
const actionCases = [
  ["key=value", "kvm.heartbeat.fence.action=log-only\n"],
  ["key = value (blanks around =)", "kvm.heartbeat.fence.action = log-only\n"],
  ["key:value", "kvm.heartbeat.fence.action:log-only\n"],
  ["indented key", "  kvm.heartbeat.fence.action=log-only\n"],
  ["value continued on the next line", "kvm.heartbeat.fence.action=log-\\\n    only\n"],
  ["unknown value", "kvm.heartbeat.fence.action=rebot\n"],
];
for (const [name, text] of actionCases) {
  const file = join(root, "fence.properties");
  writeFileSync(file, text);
  const action = JSON.parse(run(["config", "show", "--json", "--file", file]).stdout).values["kvm.heartbeat.fence.action"];
  rows.push(["fence action read", name, upstreamAction(text), action === "reboot" ? "reboot (= hard-reboot)" : action]);
}

// LINSTOR/DRBD health: upstream's agent calls the host unhealthy when any events2 line shows a
// Primary with promotion_score:0 (reference §4.1); hb's verdict from the same drbdsetup output.
const bin = join(root, "bin");
mkdirSync(bin);
symlinkSync(fakeDrbdsetup, join(bin, "drbdsetup"));
for (const fixture of ["resync-sync-target", "resync-sync-source", "congested", "peer-connecting", "quorum-lost-suspend-io", "quorum-lost-io-error", "secondary-quorum-lost", "older-utils-quorum-lost"]) {
  const events = readFileSync(join(fixtures, `${fixture}.events2.txt`), "utf8");
  const answer = join(bin, `answer-${fixture}`);
  mkdirSync(answer);
  writeFileSync(join(answer, "out"), events);
  rmSync(join(bin, "events2"), { force: true });
  symlinkSync(`answer-${fixture}`, join(bin, "events2"));
  const upstream = /role:Primary .*promotion_score:0/.test(events) ? "unhealthy: fence after the retries" : "healthy";
  const result = run(["drbd", "health", "--json"], { PATH: `${bin}:${process.env.PATH}` });
  const verdict = JSON.parse(result.stdout).verdict;
  rows.push(["LINSTOR health", fixture, upstream, verdict === "lost" ? "lost: fence after the retries" : `${verdict}: never fenced`]);
}

console.log("| what | case | upstream | hb |");
console.log("|---|---|---|---|");
for (const row of rows) console.log(`| ${row.map((cell) => cell.replace(/\|/g, "\\|")).join(" | ")} |`);

// Storage operations per heartbeat, counted by the FUSE fault filesystem (tooling/testkit) for
// upstream's write mode (tooling/testkit/upstream-write.sh), for what the agent runs with hb in
// place (`hb compat kvmheartbeat`) and for hbd's heartbeat (its record included). Then the same
// heartbeats with every operation delayed by 200 ms, as on slow NFS.
await storageOperations();
rmSync(root, { recursive: true, force: true });

async function storageOperations() {
  const { NfsHeartbeatTarget } = await import("../packages/storage-nfs/dist/index.js");
  const { ProcessExecutor, SystemClock } = await import("../packages/core/dist/adapters.js");
  const { faultFsUnavailableReason, mountFaultFs, UPSTREAM_WRITE_SCRIPT: upstreamWrite } = await import("../tooling/testkit/dist/index.js");
  console.log("\n### Storage operations per heartbeat\n");
  const unavailable = faultFsUnavailableReason();
  if (unavailable !== null) {
    console.log(`skipped: the FUSE fault filesystem is unavailable (${unavailable})`);
    return;
  }
  const HEARTBEATS = 10;
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  const executor = new ProcessExecutor();

  // The test kit's fault filesystem; the counts are its operations since it was mounted.
  async function mount(noac) {
    const fs = await mountFaultFs({ noac });
    return { mountPoint: fs.mountPoint, total: () => fs.operations().total, setFault: (fault) => fs.setFault(fault), unmount: () => fs.unmount() };
  }

  const writers = (mountPoint) => {
    const properties = join(root, `compat-${Math.random().toString(16).slice(2)}.properties`);
    writeFileSync(join(`${properties}.mounts`), `10.0.0.2:/export ${mountPoint} nfs rw 0 0\n`);
    writeFileSync(properties, `hb.mounts.file=${properties}.mounts\n`);
    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint, hostId: "10.0.0.7", executor, clock: new SystemClock(), record: { bootId: "bench" } });
    let seq = 0;
    const ok = (status, what) => {
      if (status !== 0) throw new Error(`${what} failed (${status})`);
    };
    return [
      ["upstream kvmheartbeat.sh", async () => ok(spawnSync("bash", [upstreamWrite, mountPoint, "10.0.0.5"]).status, "upstream's write")],
      ["hb compat kvmheartbeat", async () => ok(run(["compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", mountPoint, "-h", "10.0.0.6"], { AGENT_PROPS: properties }).status, "hb compat kvmheartbeat")],
      ["hbd's heartbeat (record every 5th)", async () => ok((await target.attempt({ seq: ++seq, deadlineMs: 60_000, signal: new AbortController().signal })).ok ? 0 : 1, "hbd's heartbeat")],
    ];
  };

  const table = [];
  for (const [mode, noac, pauseMs] of [
    ["noac (as upstream mounts NFS)", true, 0],
    ["attribute cache 1 s, heartbeats 1.1 s apart", false, 1100],
  ]) {
    const fs = await mount(noac);
    try {
      for (const [name, write] of writers(fs.mountPoint)) {
        let before = fs.total();
        await write();
        await sleep(pauseMs);
        const first = fs.total() - before;
        before = fs.total();
        for (let i = 0; i < HEARTBEATS; i++) {
          await write();
          await sleep(pauseMs);
        }
        table.push([mode, name, String(first), ((fs.total() - before) / HEARTBEATS).toFixed(1)]);
      }
    } finally {
      await fs.unmount();
    }
  }
  console.log(`| mount | writer | first write | per heartbeat (mean of ${HEARTBEATS}) |`);
  console.log("|---|---|---:|---:|");
  for (const row of table) console.log(`| ${row.join(" | ")} |`);

  // Every operation 200 ms: the time of one heartbeat (the first write done before), and what it
  // means for a deadline: the largest per-operation delay that fits heartbeat.update.timeout.
  const slow = await mount(true);
  try {
    console.log("\n| every operation 200 ms (noac) | operations | time | largest delay per operation within a 60 s timeout |");
    console.log("|---|---:|---:|---:|");
    for (const [name, write] of writers(slow.mountPoint)) {
      await write();
      await slow.setFault({ delayMs: 200, ops: ["*"] });
      const before = slow.total();
      const started = performance.now();
      await write();
      const ms = performance.now() - started;
      const ops = slow.total() - before;
      await slow.setFault({});
      const overheadMs = Math.max(0, ms - ops * 200);
      console.log(`| ${name} | ${ops} | ${(ms / 1000).toFixed(2)} s | ${Math.floor((60_000 - overheadMs) / ops)} ms |`);
    }
  } finally {
    await slow.unmount();
  }
}
