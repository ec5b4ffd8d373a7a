// -c answers in time, whatever the state folder, the audit record or syslog do: run as the agent
// runs it, killed at heartbeat.update.timeout as the agent kills it. It must have answered (exit
// status 0 after `b`) before that, and the detached fence it started must end by itself.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { faultFsUnavailableReason, type FaultOp, type FenceBehaviour, type FenceHost, mountFaultFs, roomyFenceHost } from "@hb/testkit";
import { afterEach, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const POOL = "/mnt/6e1b9a4c-pool";
const AGENT_TIMEOUT_MS = 10_000;
// -c's budget with these settings: 10 s − (3 × 2 s steps + 0.2 s flush wait) − 1 s start-up = 2.8 s to verify.
const SETTINGS = [`heartbeat.update.timeout=${AGENT_TIMEOUT_MS}`];
const EVERY_OP: FaultOp[] = ["getattr", "readdir", "mkdir", "create", "open", "read", "write", "flush", "fsync", "fsyncdir", "truncate", "unlink", "rename", "rmdir"];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function host(behaviours: Partial<Record<string, FenceBehaviour>> = {}): Promise<FenceHost> {
  const fake = await roomyFenceHost(behaviours);
  cleanups.push(() => fake.temp.remove());
  return fake;
}

async function writeProperties(fake: FenceHost, lines: readonly string[]): Promise<void> {
  await fake.writeProperties([...SETTINGS, ...lines]);
}

interface AgentRun {
  /** null: the agent had to kill it. */
  readonly code: number | null;
  readonly stdout: string;
  readonly elapsedMs: number;
}

/** As CloudStack's agent: run the script, kill it at heartbeat.update.timeout. */
function runAsAgent(fake: FenceHost, args: readonly string[]): Promise<AgentRun> {
  const started = performance.now();
  const child = spawn(process.execPath, [bin, "compat", ...args], { env: { ...process.env, PATH: fake.path, AGENT_PROPS: fake.properties }, stdio: ["ignore", "pipe", "pipe"] });
  const kill = setTimeout(() => child.kill("SIGKILL"), AGENT_TIMEOUT_MS);
  let stdout = "";
  child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => void (stdout += chunk));
  return new Promise((resolve) =>
    child.on("exit", (code) => {
      clearTimeout(kill);
      resolve({ code, stdout, elapsedMs: performance.now() - started });
    }),
  );
}

/** Pids of the detached `hb fence` runs of this fake host (their command line names its agent.properties). */
function detachedFences(fake: FenceHost): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "latin1");
    } catch {
      continue;
    }
    const args = cmdline.split("\0");
    if (args.includes("--status-fd") && args.includes(fake.properties)) pids.push(Number(entry));
  }
  return pids;
}

async function expectDetachedFencesEnd(fake: FenceHost, withinMs = 15_000): Promise<void> {
  const until = performance.now() + withinMs;
  while (detachedFences(fake).length > 0) {
    if (performance.now() > until) throw new Error(`the detached fence is still running: pids ${detachedFences(fake).join(", ")}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const REBOOT = ["logger -t heartbeat -- kvmheartbeat.sh will reboot system because it was unable to write the heartbeat to the storage.", "s", "sync", "b"];
const nfsArgs = ["kvmheartbeat", "-i", "10.0.0.1", "-p", "/export/primary", "-m", POOL, "-c"];

describe("-c answers in time", () => {
  it("with the state folder hung in the kernel (every operation held): fences, answers before the agent's kill, and the detached fence ends", async (context) => {
    const unavailable = faultFsUnavailableReason();
    if (unavailable !== null) {
      console.warn(`skipped: ${unavailable}`);
      return context.skip(unavailable);
    }
    const fake = await host();
    const fs = await mountFaultFs({ files: { "state/hbd.pid": "1\n" } });
    cleanups.push(() => fs.unmount());
    await writeProperties(fake, [`hb.state.dir=${fs.mountPoint}/state`]);
    await fs.setFault({ hang: true, ops: EVERY_OP });

    const script = await runAsAgent(fake, nfsArgs);
    console.info(`-c with a hung state folder answered in ${Math.round(script.elapsedMs)} ms (the agent kills it at ${AGENT_TIMEOUT_MS} ms; verify budget 2800 ms)`);
    expect(script).toMatchObject({ code: 0, stdout: "" });
    const events = await fake.eventNames();
    // Said loudly: hbd could not be asked; then upstream's line, the notice about the record, the reset.
    expect(events[0]).toMatch(/^logger -t heartbeat -p user\.crit -- kvmheartbeat\.sh -c: hbd does not answer \(.*hbd\.sock: no answer within 2000 ms \(hbd stopped, or .* hangs\)\): deciding here, as configured/);
    expect(events[1]).toBe(REBOOT[0]);
    expect(events[2]).toMatch(/fence record not confirmed: .*fence\.jsonl did not answer within 2000 ms/);
    expect(events.slice(3)).toEqual(["s", "sync", "b"]);
    await expectDetachedFencesEnd(fake);
    // Only now may the test let go of the mount: the writers left in the kernel are released.
    expect(fs.held()).toBeGreaterThan(0);
  });

  it("with a FIFO planted as fence.jsonl: fences, answers at once, and the detached fence ends", async () => {
    const fake = await host();
    await mkdir(fake.stateDir, { mode: 0o700 });
    expect(spawnSync("mkfifo", [`${fake.stateDir}/fence.jsonl`]).status).toBe(0);
    await writeProperties(fake, []);
    const script = await runAsAgent(fake, nfsArgs);
    expect(script).toMatchObject({ code: 0, stdout: "" });
    const events = await fake.eventNames();
    expect(events[0]).toBe(REBOOT[0]);
    expect(events[1]).toMatch(/fence record not written to .*fence\.jsonl: not a regular file: refused/);
    expect(events.slice(2)).toEqual(["s", "sync", "b"]);
    await expectDetachedFencesEnd(fake);
  });

  it("with a logger on PATH that never exits: fences, answers before the agent's kill, and the detached fence ends", async () => {
    const fake = await host({ logger: "hang" });
    await writeProperties(fake, []);
    const script = await runAsAgent(fake, nfsArgs);
    console.info(`-c with a hung logger answered in ${Math.round(script.elapsedMs)} ms (the agent kills it at ${AGENT_TIMEOUT_MS} ms)`);
    expect(script).toMatchObject({ code: 0, stdout: "" });
    expect(await fake.eventNames()).toEqual(REBOOT);
    await expectDetachedFencesEnd(fake);
    expect((await fake.records())[0]).toMatchObject({ kind: "decision", isFence: true });
  });
});
