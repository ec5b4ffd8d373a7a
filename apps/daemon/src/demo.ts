import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { ProcessExecutor, SystemClock, type Clock, type ExecRequest, type ExecResult, type Executor } from "@hb/core";
import { describeLastFence, readLastFence } from "@hb/fence";
import pino from "pino";
import { Daemon } from "./daemon.js";
import type * as TestKit from "@hb/testkit";
import type { FaultFs } from "@hb/testkit";
import { chooseStorageWorker, eventLoopLag, hbdFactories, storageWorkerCandidates } from "./wiring.js";


// A child that never answers: it waits forever without a timer.
export const NEVER_ANSWERS = "Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0)";
export interface DemoOptions {
  readonly version: string;
  readonly stdout: (text: string) => void;
  /** Seconds from the start at which each phase begins (shorter in tests). */
  readonly phases?: DemoPhases;
  /** false: the child-process stand-in even where FUSE is usable (tests cover both paths). */
  readonly fuse?: boolean;
}

export interface DemoPhases {
  readonly slowAtS: number;
  readonly stallAtS: number;
  readonly recoverAtS: number;
  readonly endAtS: number;
}

const PHASES: DemoPhases = { slowAtS: 8, stallAtS: 16, recoverAtS: 34, endAtS: 44 };

// Short timings: a decision at most 2 + 3 × 2 + 2 × 1 = 10 s after the last good heartbeat.
const DEMO_PROPERTIES = {
  "heartbeat.update.timeout": "2000",
  "kvm.heartbeat.update.frequency": "2000",
  "kvm.heartbeat.update.max.tries": "3",
  "kvm.heartbeat.update.retry.sleep": "1000",
  "kvm.heartbeat.fence.action": "reboot",
  "hb.fence.dry.run": "true",
  "hb.fence.flush.wait": "500",
  "hb.fence.step.timeout": "1000",
  "hb.host.ip": "192.0.2.10",
  // Neighbours wait longer than a slow healthy round (2 s pause + 2 s write + 1 s rounding).
  "hb.heartbeat.max.age": "6000",
};

/**
 * `hbd --demo`: the real daemon on a temporary pool, with the dry-run fence. Partway, the pool's
 * writes turn slow, then hang, then the storage recovers. Where FUSE is usable (root, fusepy)
 * the pool is a FUSE mount whose writes really block in the kernel; elsewhere a folder, whose
 * stalled writes are child processes that never answer. Both take the same deadline path
 * (raced, killed, let go).
 */
/**
 * The test kit's FUSE fault filesystem (tooling/testkit, the one the tests use): loaded only by the
 * demo, and only present in a checkout; elsewhere, or without root, /dev/fuse or python3-fusepy,
 * the reason why not.
 */
async function faultFsKit(): Promise<typeof TestKit | { reason: string }> {
  let kit: typeof TestKit;
  try {
    kit = await import("@hb/testkit");
  } catch {
    return { reason: "no test kit (tooling/testkit of a checkout)" };
  }
  const reason = kit.faultFsUnavailableReason();
  return reason === null ? kit : { reason };
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const phases = options.phases ?? PHASES;
  const out = options.stdout;
  const root = mkdtempSync(join(tmpdir(), "hbd-demo-"));
  const state = join(root, "state");
  const clock = new SystemClock();
  const startedMs = clock.monoMs();
  const at = () => `${((clock.monoMs() - startedMs) / 1000).toFixed(1).padStart(5)} s`;
  const kit = options.fuse === false ? { reason: "not asked for" } : await faultFsKit();
  const fuse: FaultFs | undefined = "mountFaultFs" in kit ? await kit.mountFaultFs() : undefined;
  const noFuse = "reason" in kit ? kit.reason : null;
  const pool = fuse?.mountPoint ?? join(root, "pool");
  if (fuse === undefined) mkdirSync(pool);
  // As hbd's own executor: a round's tries each get a worker, so the decision comes on the model's time.
  const real = new ProcessExecutor({ maxStuckPerGroup: Number(DEMO_PROPERTIES["kvm.heartbeat.update.max.tries"]) });
  const storage: Executor = fuse === undefined ? new StallingExecutor(real, clock, () => (clock.monoMs() - startedMs) / 1000, phases, pool) : real;
  const faultTimers =
    fuse === undefined
      ? []
      : [
          // A heartbeat rewrites its file in place (open, write, fsync): 3 × 350 ms is slow, not late.
          clock.setTimer(phases.slowAtS * 1000, () => void fuse.setFault({ delayMs: 350, ops: ["create", "open", "write", "fsync"] })),
          clock.setTimer(phases.stallAtS * 1000, () => void fuse.setFault({ hang: true, ops: ["create", "write", "fsync", "rename", "open", "mkdir", "unlink"] })),
          clock.setTimer(phases.recoverAtS * 1000, () => void fuse.setFault({})),
        ];

  // The folder stands in for an NFS mount: a mount table that says so, as hb checks before each write.
  // Direct writes: the demo's own fresh temporary folder, no path from input.
  const mounts = join(root, "mounts");
  writeFileSync(mounts, `192.0.2.2:/export/primary ${pool} nfs rw,sync,soft,proto=tcp 0 0\n`);
  const properties = { ...DEMO_PROPERTIES, "hb.pools": `nfs:${pool}`, "hb.state.dir": state, "hb.fence.sysrq.trigger": join(root, "sysrq-trigger"), "hb.mounts.file": mounts };
  const file = join(root, "agent.properties");
  writeFileSync(file, Object.entries(properties).map(([key, value]) => `${key}=${value}`).join("\n") + "\n");

  out(`hb demo: a real hbd on ${pool}, fence in dry-run mode.\n`);
  out(
    fuse === undefined
      ? `  the pool is a folder; its stalled writes are child processes that never answer (no FUSE here: ${noFuse})\n`
      : "  the pool is a FUSE mount: its writes are slowed, then held in the kernel as on a hung NFS server\n",
  );
  out(`  ${phases.slowAtS} s: writes turn slow (1.3 s, over half the 2 s timeout)   ${phases.stallAtS} s: writes hang   ${phases.recoverAtS} s: storage recovers\n`);
  const worker = chooseStorageWorker("auto", storageWorkerCandidates(), process.getuid?.() ?? 0);
  out(`  storage worker: ${worker.note}\n`);
  out(`  timings: 2 s timeout, 2 s pause, 3 tries 1 s apart: the decision comes at most 10 s after the last good heartbeat\n\n`);

  const log = pino({ level: "info" }, new Writable({ write: (chunk: Buffer, _encoding, done) => (out(humanLine(chunk.toString(), at())), done()) }));
  let daemon: Daemon | undefined;
  for (const listen of ["127.0.0.1:9746", "127.0.0.1:0"]) {
    const candidate: Daemon = new Daemon(
      { propertiesPath: file, overrides: { "hb.status.listen": listen } },
      {
        executor: storage,
        clock,
        log,
        env: {},
        pid: process.pid,
        isHbd: () => false,
        addressOf: () => undefined,
        lag: eventLoopLag(),
        ...hbdFactories({ executor: storage, clock, version: options.version, ...(worker.path === undefined ? {} : { storageWorker: worker.path }) }),
        stderr: () => undefined,
        sysClassWatchdog: "/sys/class/watchdog",
        version: options.version,
      },
    );
    await candidate.start();
    // The default status port may be taken (an hbd already runs here): take any free one.
    if (candidate.status().statusEndpoint.bound) {
      daemon = candidate;
      break;
    }
    await candidate.stop();
  }
  if (daemon === undefined) {
    await fuse?.unmount();
    return 1;
  }
  out(`status: curl -s http://${daemon.statusAddress}/status   (or: hb status --file ${file})\n\n`);
  await clock.sleep(Math.max(0, phases.endAtS * 1000 - (clock.monoMs() - startedMs)));
  await daemon.stop();
  for (const timer of faultTimers) timer.cancel();
  await fuse?.unmount();
  const last = await readLastFence(state, { executor: new ProcessExecutor(), deadlineMs: 5_000 }).catch(() => null);
  out(`\nThe audit record of the decision: ${join(state, "fence.jsonl")}\n`);
  if (last !== null) out(`${describeLastFence(last)}\n`);
  out(`Everything the demo wrote is under ${root}.\n`);
  return last === null ? 1 : 0;
}

/**
 * An Executor whose storage workers turn slow, then hang, then recover, by the demo's clock. A
 * storage worker is a request in the pool's stuck-children group; every other child (the
 * fence's audit writer, whose record may name the pool) runs as it would.
 */
export class StallingExecutor implements Executor {
  constructor(
    private readonly real: Executor & { readonly stuck?: number },
    private readonly clock: Clock,
    private readonly elapsedS: () => number,
    private readonly phases: DemoPhases,
    private readonly pool: string,
  ) {}

  get stuck(): number {
    return this.real.stuck ?? 0;
  }

  release(key: string): void {
    this.real.release?.(key);
  }

  async run(request: ExecRequest): Promise<ExecResult> {
    const t = this.elapsedS();
    const isStorageWorker = request.group !== undefined && request.group.includes(this.pool);
    if (!isStorageWorker || t < this.phases.slowAtS || t >= this.phases.recoverAtS) return this.real.run(request);
    if (t >= this.phases.stallAtS) {
      // A child that never answers: the write blocked in the kernel on dead storage.
      return this.real.run({ ...request, file: process.execPath, args: ["-e", NEVER_ANSWERS] });
    }
    await this.clock.sleep(1300, request.signal);
    return this.real.run(request);
  }
}

/** pino's JSON line as one line for people. */
function humanLine(json: string, at: string): string {
  try {
    const entry = JSON.parse(json) as { msg?: string; pool?: string; from?: string | null; to?: string; action?: string; mode?: string; level?: number };
    if (entry.to !== undefined) return `${at}  ${entry.pool ?? ""}  ${entry.from ?? "start"} -> ${entry.to}: ${entry.msg ?? ""}\n`;
    if ((entry.level ?? 30) >= 40 || entry.msg?.startsWith("fence") === true) return `${at}  ${entry.pool ? `${entry.pool}  ` : ""}${entry.msg ?? ""}\n`;
    return "";
  } catch {
    return json;
  }
}
