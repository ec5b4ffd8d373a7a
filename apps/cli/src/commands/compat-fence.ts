import type { FenceActionName, HeartbeatConfig } from "@hb/config";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import type { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { propertiesPath, type RunDeps } from "../context.js";
import { flag, optionValue, type GetoptsResult } from "../getopts.js";
import { readScriptConfig } from "./fence.js";

/** What the agent asked a -c entry point to fence, and the configuration it fences with. */
export interface ScriptFence {
  /** Upstream's script name: the syslog source. */
  readonly source: "kvmheartbeat.sh" | "kvmspheartbeat.sh";
  readonly target: string;
  readonly propertiesPath: string;
  readonly config: HeartbeatConfig;
  readonly action: FenceActionName;
}

export type Verdict = { readonly proceed: true } | { readonly proceed: false; readonly exitStatus: number };

/**
 * A check that may veto the fence before the action starts (hb.fence.verify adds the DRBD
 * quorum check here). It logs its own veto; it must finish well inside heartbeat.update.timeout.
 */
export interface FenceVerification {
  readonly name: string;
  check(fence: ScriptFence, deps: RunDeps): Promise<Verdict>;
}

/** Run in order before the action; none yet. */
export const VERIFICATIONS: readonly FenceVerification[] = [];

/**
 * kvmheartbeat.sh -c. Upstream checks the mount first (and, when the remount fails, never
 * fences); hb does not touch mounts here: the agent has decided, and a host that lost its
 * mount is exactly the one to fence. -i is not required for -c either, for the same reason.
 */
export async function kvmheartbeatFence(options: GetoptsResult, deps: RunDeps): Promise<number> {
  const mount = optionValue(options, "m");
  const server = optionValue(options, "i");
  const target = mount !== "" ? mount : server !== "" ? `${server}:${optionValue(options, "p")}` : "an NFS pool";
  return fenceFromScript("kvmheartbeat.sh", target, deps);
}

/** kvmspheartbeat.sh [-c]: without -c upstream does nothing and exits 0. */
export async function kvmspheartbeat(options: GetoptsResult, deps: RunDeps): Promise<number> {
  if (!flag(options, "c")) return 0;
  return fenceFromScript("kvmspheartbeat.sh", "LINSTOR/StorPool storage", deps);
}

/**
 * Verify, then run the action in a detached process. The agent kills the script at
 * heartbeat.update.timeout, and only its direct child: a fence running in that child could be
 * cut half way; a detached one carries on. Nothing goes to stdout (the agent reads it) or
 * stderr (the agent merges it): notices go to syslog and the record.
 */
async function fenceFromScript(source: ScriptFence["source"], target: string, deps: RunDeps): Promise<number> {
  const path = propertiesPath(undefined, deps);
  const { values } = await readScriptConfig(path);
  const fence: ScriptFence = { source, target, propertiesPath: path, config: values, action: values["kvm.heartbeat.fence.action"] };
  for (const verification of VERIFICATIONS) {
    const verdict = await verification.check(fence, deps);
    if (!verdict.proceed) return verdict.exitStatus;
  }
  const args = ["fence", "--source", source, "--target", target, "--action", fence.action, "--file", path];
  return runDetached(args, deps);
}

/** bin/hb.js of this installation, from the bundle (dist/) or the sources (src/commands/). */
function hbEntry(): string | undefined {
  for (const relative of ["../bin/hb.js", "../../bin/hb.js"]) {
    const candidate = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

// After the child exits, how long its status line may still be on its way through the pipe.
const STATUS_GRACE_MS = 250;

/**
 * `hb fence … --status-fd 3` in its own session, answering with the status upstream's script
 * would have exited with, as soon as the child reports it (graceful-reboot keeps running for its
 * deadline after that). Where no detached process can be started, the action runs here.
 */
function runDetached(args: readonly string[], deps: RunDeps): Promise<number> {
  const quiet: RunDeps = { ...deps, stdout: () => undefined, stderr: () => undefined };
  const inProcess = async () => (await import("./fence.js")).run(args.slice(1), quiet);
  const entry = hbEntry();
  if (entry === undefined) return inProcess();
  return new Promise((resolve) => {
    let settled = false;
    let text = "";
    const child = spawn(process.execPath, [entry, ...args, "--status-fd", "3"], { detached: true, stdio: ["ignore", "ignore", "ignore", "pipe"] });
    const status = child.stdio[3] as Readable | null;
    const finish = (code: number) => {
      if (settled) return;
      settled = true;
      status?.destroy();
      child.unref();
      resolve(code);
    };
    status?.on("error", () => undefined);
    status?.on("data", (chunk: Buffer) => {
      text += chunk.toString("latin1");
      const line = text.split("\n");
      if (line.length > 1) finish(/^\d+$/.test(line[0] ?? "") ? Number(line[0]) : 1);
    });
    child.on("error", () => {
      if (settled) return;
      settled = true;
      void inProcess().then(resolve, () => resolve(1));
    });
    child.on("exit", (code) => void setTimeout(() => finish(code ?? 1), STATUS_GRACE_MS));
  });
}
