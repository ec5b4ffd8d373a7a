// hbd as a real process (bin/hbd.js), for the faults that only a real process meets: its own
// descriptor limit, signals, another user's listener, its state folder. Its pino log is read
// from stdout, its start-up summary from stderr; the control socket is asked as root would.
import { spawn, type ChildProcess } from "node:child_process";
import { chmodSync, readdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { makeTempDir, type TempDir } from "@hb/testkit";

export const HBD = fileURLToPath(new URL("../../bin/hbd.js", import.meta.url));
export const HOST_ID = "10.0.0.5";

/** Why these tests cannot run here, or null: they need root (another uid, mounts, prlimit of a child). */
export function processTestsUnavailable(): string | null {
  return process.getuid?.() === 0 ? null : "needs root (a listener as uid 65534, tmpfs mounts, prlimit on hbd)";
}

/** Argument prefix that runs a program as uid/gid 65534 (nobody), with no supplementary groups. */
export const AS_NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] as const;

export type LogLine = Record<string, unknown> & { msg?: string; pool?: string };

export interface HbdOptions {
  /** agent.properties lines (the pool's lines are added by `poolProperties`). */
  readonly properties: readonly string[];
  /** RLIMIT_NOFILE of hbd (soft and hard), through prlimit. */
  readonly nofile?: number;
  /** Folders put first on hbd's PATH (a fake virsh). */
  readonly path?: readonly string[];
  readonly logLevel?: string;
}

/** A temp folder readable by uid 65534 (for its scripts), with a pool presented as NFS by a mount table file. */
export async function hbdWorkspace(prefix: string): Promise<{ temp: TempDir; pool: string; poolProperties: string[] }> {
  const temp = await makeTempDir(prefix);
  chmodSync(temp.path, 0o755);
  const pool = temp.file("pool");
  await mkdir(join(pool, "KVMHA"), { recursive: true });
  const mounts = temp.file("mounts");
  await writeFile(mounts, `10.0.0.2:/export/primary ${pool} nfs rw,sync,soft 0 0\n`);
  return {
    temp,
    pool,
    poolProperties: [`hb.mounts.file=${mounts}`, `hb.host.ip=${HOST_ID}`, `hb.fence.sysrq.trigger=${temp.file("sysrq-trigger")}`],
  };
}

/** Short timings with room for a loaded 2-core machine: a decision at most 1 + 3 × 5 + 2 × 1 = 18 s after the last good heartbeat. */
export const TIMINGS = ["heartbeat.update.timeout=5000", "kvm.heartbeat.update.frequency=1000", "kvm.heartbeat.update.max.tries=3", "kvm.heartbeat.update.retry.sleep=1000"];

export class HbdProcess {
  readonly log: LogLine[] = [];
  stderr = "";
  readonly exited: Promise<string>;
  private buffered = "";

  constructor(readonly child: ChildProcess) {
    child.stdout?.on("data", (chunk: Buffer) => {
      this.buffered += chunk.toString();
      const lines = this.buffered.split("\n");
      this.buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (line.trim() === "") continue;
        try {
          this.log.push(JSON.parse(line) as LogLine);
        } catch {
          this.log.push({ msg: line });
        }
      }
    });
    child.stderr?.on("data", (chunk: Buffer) => void (this.stderr += chunk.toString()));
    this.exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve(`${code ?? signal}`)));
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  /** Descriptors hbd holds now. */
  openDescriptors(): number {
    return readdirSync(`/proc/${this.pid}/fd`).length;
  }

  logged(pattern: RegExp): LogLine[] {
    return this.log.filter((line) => typeof line.msg === "string" && pattern.test(line.msg));
  }

  attempts(): LogLine[] {
    return this.log.filter((line) => line.msg === "attempt");
  }

  async until(what: string, predicate: () => boolean, timeoutMs = 30_000): Promise<void> {
    const end = performance.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!predicate()) {
      if (exited) throw new Error(`hbd exited while waiting for ${what} (${await this.exited})\nstderr: ${this.stderr}\nlast log: ${JSON.stringify(this.log.slice(-5))}`);
      if (performance.now() > end) throw new Error(`timed out waiting for ${what}\nstderr: ${this.stderr}\nlast log: ${JSON.stringify(this.log.slice(-5))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<string> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    const result = await this.exited;
    clearTimeout(timer);
    return result;
  }
}

export async function startHbd(file: string, options: HbdOptions): Promise<HbdProcess> {
  await writeFile(file, `${options.properties.join("\n")}\n`);
  const node = [process.execPath, HBD, "--file", file, "--log-level", options.logLevel ?? "debug"];
  const argv = options.nofile === undefined ? node : ["prlimit", `--nofile=${options.nofile}:${options.nofile}`, "--", ...node];
  const env = { ...process.env, PATH: [...(options.path ?? []), process.env.PATH ?? "/usr/bin:/bin"].join(":") };
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], env });
  return new HbdProcess(child);
}

/** The fields of hbd's status document these tests read (apps/daemon/README.md lists them all). */
export interface StatusDocument {
  readonly action: string;
  readonly dryRun: boolean;
  readonly fences: boolean;
  readonly healthy: boolean;
  readonly healthProblems: string[];
  readonly statusEndpoint: { listen: string; bound: boolean; error: string | null };
  readonly config: { path: string; loadedAt: string; stale: null | { since: string; reason: string } };
  readonly discovery: { state: string; since: string | null; error: string | null; failures: number };
  readonly targets: { id: string; state: string; lastChange: { reason: string } }[];
}

/** One request on hbd's control socket, one answer. */
export function control(socket: string, request: unknown): Promise<{ ok: boolean; result: StatusDocument; error?: string }> {
  return new Promise((resolve, reject) => {
    const client = connect(socket);
    let data = "";
    client.setTimeout(10_000, () => client.destroy(new Error(`no answer on ${socket}`)));
    client.on("data", (chunk) => (data += chunk));
    client.on("end", () => resolve(JSON.parse(data)));
    client.on("error", reject);
    client.write(`${JSON.stringify(request)}\n`);
  });
}

/** A program run as uid 65534 (with a descriptor limit set by root first), its stdout lines collected. */
export function runAsNobody(argv: readonly string[], nofile?: number): { child: ChildProcess; lines: string[]; exited: Promise<string> } {
  const lines: string[] = [];
  const full = [...(nofile === undefined ? [] : ["prlimit", `--nofile=${nofile}:${nofile}`, "--"]), ...AS_NOBODY, ...argv];
  const child = spawn(full[0] as string, full.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let buffered = "";
  let stderr = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split("\n");
    buffered = parts.pop() ?? "";
    lines.push(...parts);
  });
  child.stderr?.on("data", (chunk: Buffer) => void (stderr += chunk.toString()));
  const exited = new Promise<string>((resolve) => child.once("exit", (code, signal) => resolve(`${code ?? signal} ${stderr.trim()}`)));
  return { child, lines, exited };
}
