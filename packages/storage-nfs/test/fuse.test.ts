import { lookup } from "node:dns/promises";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseProperties, resolveConfig } from "@hb/config";
import { HeartbeatLoop, ProcessExecutor, SystemClock, type FenceDecision, type LoopEvent } from "@hb/core";
import { faultFsUnavailableReason, mountFaultFs, type FaultFs } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity, failedToCreate, judgeHeartbeat, NfsHeartbeatTarget, readHeartbeat, writeHeartbeat } from "../src/index.js";
import { NATIVE_WORKER, WORKERS } from "./workers.js";

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`SKIPPED: storage-nfs FUSE tests: ${unavailable}`);

const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);
const leftovers = (faultFs: FaultFs) => readdirSync(join(faultFs.backingDir, "KVMHA")).filter((name) => name.endsWith(".tmp"));

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** This process's storage workers, Node or native, by pid. */
function storageWorkers(): string[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
        const command = readFileSync(`/proc/${pid}/cmdline`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === process.pid && (command.startsWith("hb-storage-worker") || command.startsWith(NATIVE_WORKER));
      } catch {
        return false;
      }
    });
}

// A real FUSE mount whose writes are delayed, hung in the kernel, or failed: what a slow,
// hung or failing NFS server does to the writer (../shared test-infra: faultfs).
describe.skipIf(unavailable !== null)("heartbeat I/O on a real FUSE mount with injected faults", () => {
  let faultFs: FaultFs;
  let executor: ProcessExecutor;

  beforeEach(async () => {
    faultFs = await mountFaultFs();
    executor = new ProcessExecutor();
  });

  afterEach(async () => {
    await faultFs.unmount();
  });

  it.each(WORKERS)("writes through the mount durably, and on request reads it back past this host's page cache: $name", async ({ worker }) => {
    const written = now();
    const result = await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: written, deadlineMs: 10_000, readBack: true });
    expect(result).toMatchObject({ ok: true, mode: "created", readback: "verified" });
    expect(readFileSync(join(faultFs.backingDir, "KVMHA", `hb-${HOST}`), "utf8")).toBe(`${written}\n`);
    expect(leftovers(faultFs)).toEqual([]);
  });

  it.each(WORKERS)("a delayed write succeeds late, within its deadline: $name", async ({ worker }) => {
    await faultFs.setFault({ delayMs: 400, ops: ["write"] });
    const result = await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 10_000 });
    expect(result.ok).toBe(true);
    expect(result.durationMs).toBeGreaterThanOrEqual(400);
  });

  it.each(WORKERS)("on slow storage the record and the sweep wait for a faster round: the heartbeat alone is written: $name", async ({ worker }) => {
    const first = { executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, deadlineMs: 30_000, record: { bootId: "b1" } };
    expect(await writeHeartbeat({ ...first, nowEpochSeconds: now() })).toMatchObject({ ok: true, seq: 1 });
    // Every operation 200 ms: the heartbeat alone takes at least 5 of them, over the 500 ms allowed.
    await faultFs.setFault({ delayMs: 200, ops: ["*"] });
    const slow = await writeHeartbeat({ ...first, nowEpochSeconds: now(), sweep: true, extrasWithinMs: 500 });
    expect(slow).toMatchObject({ ok: true, mode: "in-place", swept: 0, extrasSkipped: expect.stringMatching(/record and sweep left for a faster round/) });
    expect(slow).not.toHaveProperty("seq");
    expect(JSON.parse(readFileSync(join(faultFs.backingDir, "KVMHA", `hbx-${HOST}.json`), "utf8"))).toMatchObject({ seq: 1 });
    await faultFs.setFault({});
    expect(await writeHeartbeat({ ...first, nowEpochSeconds: now() })).toMatchObject({ ok: true, seq: 2 });
  });

  it.each(WORKERS)("a write slower than its deadline fails at the deadline, before the storage completes it: $name", async ({ worker }) => {
    await faultFs.setFault({ delayMs: 3_000, ops: ["write"] });
    const result = await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 500 });
    expect(result).toMatchObject({ ok: false, failure: "timeout", code: "ETIMEDOUT" });
    expect(result.durationMs).toBeGreaterThanOrEqual(500);
    // The caller has its answer while the write is still on its way to the "server".
    expect(existsSync(join(faultFs.backingDir, "KVMHA", `hb-${HOST}`))).toBe(false);
  });

  it.each(WORKERS)("8 writes hung in the kernel fail at their deadline, the process's own fs calls keep working, and the mount recovers: $name", async ({ worker }) => {
    // More hung writes than libuv has pool threads (4): in-process fs writes would starve every fs call.
    await faultFs.setFault({ hang: true, ops: ["write"] });
    // The deadline comes once all 8 are held (eight Node starts can take seconds on a busy machine).
    const deadline = new AbortController();
    const attempts = Array.from({ length: 8 }, () => writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 30_000, signal: deadline.signal }));
    await faultFs.waitForHeld(8, 30_000);

    const scratch = await mkdtemp(join(tmpdir(), "hb-own-fs-"));
    const ownCalls = (async () => {
      await writeFile(join(scratch, "f"), "x");
      await readFile(join(scratch, "f"));
      await stat(scratch);
      await lookup("localhost");
      await rm(scratch, { recursive: true });
      return "own fs calls";
    })();
    const first = await Promise.race([ownCalls, Promise.all(attempts).then(() => "attempts")]);
    expect(first).toBe("own fs calls");

    deadline.abort();
    const results = await Promise.all(attempts);
    for (const result of results) expect(result).toMatchObject({ ok: false, failure: "timeout", message: expect.stringMatching(/abandoned by the caller/) });
    // The writers are still blocked in the kernel: the attempts moved on without them.
    expect(faultFs.held()).toBe(8);
    expect(executor.stuck).toBe(8);

    await faultFs.setFault({});
    await until(() => executor.stuck === 0, 10_000, "the killed writers to exit once released");
    expect(leftovers(faultFs)).toHaveLength(8);

    const recovered = await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 10_000 });
    expect(recovered).toMatchObject({ ok: true, mode: "created", swept: 8, sweepSkipped: 0 });
    expect(leftovers(faultFs)).toEqual([]);
  });

  it.each(WORKERS)("a write failing with EIO fails at once, at the step that failed, and leaves nothing behind: $name", async ({ worker }) => {
    await faultFs.setFault({ errno: 5, ops: ["fsync"] });
    const result = await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 10_000 });
    expect(result).toMatchObject({ ok: false, failure: "fsync", code: "EIO" });
    expect(failedToCreate(result)).toBe(false);
    expect(leftovers(faultFs)).toEqual([]);

    await faultFs.setFault({ errno: 5, ops: ["create"] });
    const create = await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 10_000 });
    expect(create).toMatchObject({ ok: false, failure: "create", code: "EIO" });
    expect(failedToCreate(create)).toBe(true);

    await faultFs.setFault({});
    expect(await writeHeartbeat({ executor, ...worker, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 10_000 })).toMatchObject({ ok: true });
  });

  it("a neighbour's read of a hung mount is undecided at its deadline, not DEAD", async () => {
    await writeHeartbeat({ executor, mountPoint: faultFs.mountPoint, hostId: HOST, nowEpochSeconds: now(), deadlineMs: 10_000 });
    await faultFs.setFault({ hang: true, ops: ["open", "read"] });
    const read = await readHeartbeat(faultFs.mountPoint, HOST, { executor, deadlineMs: 400 });
    expect(read).toEqual({ kind: "timeout", afterMs: 400 });
    expect(judgeHeartbeat(read, { nowEpochSeconds: now(), maxAgeSeconds: 60 }).verdict).toBe("undecided");

    await faultFs.setFault({ errno: 5, ops: ["open", "read"] });
    const failing = await readHeartbeat(faultFs.mountPoint, HOST, { executor, deadlineMs: 5_000 });
    expect(failing).toEqual({ kind: "unreadable", message: "Input/output error" });
  });

  it("the activity check gives no verdict of its own when the storage hangs", async () => {
    await faultFs.setFault({ hang: true, ops: ["open", "getattr"] });
    const result = await checkVmActivity({
      executor,
      mountPoint: faultFs.mountPoint,
      hostId: HOST,
      volumes: ["vol-1"],
      suspectTime: now() - 100,
      checkTime: String(now()),
      nowEpochSeconds: now(),
      deadlineMs: 500,
    });
    expect(result.decided).toBe(false);
  });

  it.each(WORKERS)("as a HeartbeatTarget: an attempt on hung storage fails by its deadline; the next one after recovery succeeds: $name", async ({ worker }) => {
    const target = new NfsHeartbeatTarget({ id: "pool-1", mountPoint: faultFs.mountPoint, hostId: HOST, executor, clock: new SystemClock(), record: { bootId: "boot-a", every: 1 }, ...worker });
    expect(await target.attempt({ seq: 1, deadlineMs: 5_000, signal: new AbortController().signal })).toMatchObject({ ok: true, evidence: { mode: "created", seq: 1 } });

    await faultFs.setFault({ hang: true, ops: ["write"] });
    // The loop aborts the attempt at its deadline; without that, the target gives up a second later.
    const loopDeadline = new AbortController();
    setTimeout(() => loopDeadline.abort(), 400);
    const failed = await target.attempt({ seq: 2, deadlineMs: 400, signal: loopDeadline.signal });
    expect(failed).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/abandoned by the caller after \d+ ms/) });

    await faultFs.setFault({});
    await until(() => executor.stuck === 0, 10_000, "the killed writer to exit");
    const next = await target.attempt({ seq: 3, deadlineMs: 5_000, signal: new AbortController().signal });
    // The hung attempt was an in-place rewrite: nothing was left to sweep.
    expect(next).toMatchObject({ ok: true, evidence: { mode: "in-place", seq: 2, swept: 0 } });
    expect(leftovers(faultFs)).toEqual([]);
    const record = JSON.parse(readFileSync(join(faultFs.backingDir, "KVMHA", `hbx-${HOST}.json`), "utf8"));
    expect(record).toMatchObject({ seq: 2, bootId: "boot-a", host: HOST, attempt: 3 });
  });

  it.each(WORKERS)("a hung pool holds at most the executor's cap of stuck workers: past it, attempts fail at once as timeouts: $name", async ({ worker }) => {
    const capped = new ProcessExecutor({ maxStuckPerGroup: 2 });
    const target = new NfsHeartbeatTarget({ id: "pool-1", mountPoint: faultFs.mountPoint, hostId: HOST, executor: capped, clock: new SystemClock(), ...worker });
    // Workers other tests keep alive are not this pool's.
    const earlier = new Set(storageWorkers());
    expect(await target.attempt({ seq: 1, deadlineMs: 5_000, signal: new AbortController().signal })).toMatchObject({ ok: true });

    // Hung opens: each worker is held by the filesystem itself (hung in-place writes would also
    // queue on the file's lock in the kernel, where faultfs cannot count them).
    await faultFs.setFault({ hang: true, ops: ["open"] });
    const outcomes = [];
    for (let seq = 2; seq <= 7; seq++) {
      // The loop aborts each attempt at its deadline: here once its worker is held in the kernel.
      const deadline = new AbortController();
      const attempt = target.attempt({ seq, deadlineMs: 10_000, signal: deadline.signal });
      await Promise.race([attempt, faultFs.waitForHeld(Math.min(seq - 1, 2), 30_000)]);
      deadline.abort();
      outcomes.push(await attempt);
    }
    expect(outcomes.slice(0, 2)).toEqual([expect.objectContaining({ ok: false, message: expect.stringMatching(/abandoned by the caller/) }), expect.objectContaining({ ok: false })]);
    for (const outcome of outcomes.slice(2)) {
      expect(outcome).toMatchObject({ ok: false, reason: "error", message: expect.stringMatching(/not started, counted as a timeout/), evidence: { failure: "timeout", refused: "stuck-cap" } });
    }
    // Six attempts on the hung pool, two workers held in the kernel: count them.
    const workers = storageWorkers().filter((pid) => !earlier.has(pid));
    expect(workers).toHaveLength(2);
    expect(capped.stuckIn(faultFs.mountPoint)).toBe(2);
    expect(faultFs.held()).toBe(2);

    await faultFs.setFault({});
    await until(() => capped.stuck === 0, 10_000, "the stuck workers to exit once released");
    expect(await target.attempt({ seq: 8, deadlineMs: 5_000, signal: new AbortController().signal })).toMatchObject({ ok: true, evidence: { mode: "in-place" } });
  });

  it.each(WORKERS)("in @hb/core's loop: hung writes become timeouts at the deadline and a decision, and the loop recovers with the storage: $name", async ({ worker }) => {
    const config = resolveConfig(
      parseProperties("heartbeat.update.timeout=600\nkvm.heartbeat.update.frequency=800\nkvm.heartbeat.update.max.tries=2\nkvm.heartbeat.update.retry.sleep=200\nkvm.heartbeat.fence.action=log-only\n"),
    ).values;
    const decisions: FenceDecision[] = [];
    const events: LoopEvent[] = [];
    const target = new NfsHeartbeatTarget({ id: "pool-1", mountPoint: faultFs.mountPoint, hostId: HOST, executor, clock: new SystemClock(), ...worker });
    const loop = new HeartbeatLoop({
      config,
      clock: new SystemClock(),
      targets: [target],
      fence: { name: "log-only", execute: async (decision) => (decisions.push(decision), { action: decision.action, outcome: "recorded", acted: false }) },
      onEvent: (event) => events.push(event),
    });
    const states = () => events.flatMap((event) => (event.type === "state" ? [event.change.to] : []));
    loop.start();
    try {
      await until(() => states().includes("healthy"), 10_000, "a first good heartbeat");
      await faultFs.setFault({ hang: true, ops: ["write"] });
      await until(() => decisions.length > 0, 15_000, "a decision");
      const attempts = loop.status()[0]?.attempts ?? [];
      const timeouts = attempts.filter((attempt) => attempt.result === "timeout");
      expect(timeouts.length).toBeGreaterThanOrEqual(2);
      for (const attempt of timeouts) expect(attempt.latencyMs).toBeGreaterThanOrEqual(600);
      expect(decisions[0]).toMatchObject({ target: "pool-1" });

      await faultFs.setFault({});
      const decided = states().length;
      await until(() => states().slice(decided).includes("healthy"), 15_000, "the loop to see the storage back");
    } finally {
      await loop.stop();
    }
  });
});
