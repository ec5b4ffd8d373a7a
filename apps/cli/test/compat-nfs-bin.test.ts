import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { faultFsUnavailableReason, makeTempDir, mountFaultFs, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const SERVER = "10.0.0.2";
const EXPORT = "/export/primary";
const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);

interface AgentRun {
  readonly code: number | null;
  readonly stdout: string;
  /** The "agent" had to kill the script at its timeout (upstream's Script: a "timeout" result). */
  readonly killedByAgent: boolean;
}

/**
 * Runs the built hb the way the agent runs a script: by path, stdout and stderr merged (the
 * agent's redirectErrorStream), killed at the agent's timeout.
 */
function asAgent(argv: readonly string[], env: NodeJS.ProcessEnv, agentTimeoutMs: number): Promise<AgentRun> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [bin, ...argv], { env, timeout: agentTimeoutMs, killSignal: "SIGKILL" }, (error) => {
      resolve({ code: child.exitCode, stdout: merged, killedByAgent: error?.killed === true });
    });
    let merged = "";
    child.stdout?.on("data", (chunk: Buffer) => void (merged += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => void (merged += chunk.toString()));
  });
}

// The entry points as the agent meets them: the built bundle, mount(8) found on PATH.
describe("the built entry points, run as the agent runs them", () => {
  let dir: TempDir;
  let env: NodeJS.ProcessEnv;
  let mount: string;

  beforeEach(async () => {
    dir = await makeTempDir("hb-compat-bin-");
    mount = dir.file("mnt/4f1c");
    await mkdir(`${mount}/KVMHA`, { recursive: true });
    await mkdir(dir.file("bin"));
    // mount(8) on PATH: records its argv, and adds the pool to the mount table (source and target
    // after "-o OPTIONS --"), as a successful remount would.
    await writeFile(dir.file("bin/mount"), `#!/bin/sh\nprintf '%s\\n' "$@" > '${dir.file("mount-args")}'\nprintf '%s %s nfs4 rw 0 0\\n' "$4" "$5" >> '${dir.file("mounts")}'\n`);
    await chmod(dir.file("bin/mount"), 0o755);
    await writeFile(dir.file("mounts"), "proc /proc proc rw 0 0\n");
    await writeFile(dir.file("agent.properties"), `hb.mounts.file=${dir.file("mounts")}\n`);
    env = { ...process.env, PATH: `${dir.file("bin")}:${process.env.PATH ?? ""}`, AGENT_PROPS: dir.file("agent.properties") };
  });
  afterEach(() => dir.remove());

  it("kvmheartbeat remounts through the mount on PATH, writes, exits 0 and prints nothing", async () => {
    const run = await asAgent(["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", mount, "-h", HOST], env, 60_000);
    expect(run.killedByAgent).toBe(false);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^(hb: no qemu process uses .*\n)?$/);
    expect(await readFile(dir.file("mounts"), "utf8")).toContain(`${SERVER}:${EXPORT} ${mount} nfs4`);
    expect((await readFile(dir.file("mount-args"), "utf8")).split("\n")).toEqual(["-o", "sync,soft,proto=tcp,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,noac", "--", `${SERVER}:${EXPORT}`, mount, ""]);
    expect(await readFile(`${mount}/KVMHA/hb-${HOST}`, "utf8")).toMatch(/^\d+\n$/);
  });

  it("kvmheartbeat refuses an NFS server mount would read as an option, and a system folder as -m, before mount runs", async () => {
    const injected = await asAgent(["compat", "kvmheartbeat", "-i", "-obind,remount", "-p", EXPORT, "-m", mount, "-h", HOST], env, 60_000);
    expect(injected).toMatchObject({ code: 1, killedByAgent: false });
    expect(injected.stdout).toBe(
      `Failed to remount -obind,remount:${EXPORT} under ${mount}\n` +
        `hb: failed to remount -obind,remount:${EXPORT} under ${mount}: the NFS server "-obind,remount" begins with "-", which mount would read as an option: refused\n`,
    );
    for (const system of ["/", "/etc"]) {
      const refused = await asAgent(["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", system, "-h", HOST], env, 60_000);
      expect(refused).toMatchObject({ code: 1, killedByAgent: false });
      expect(refused.stdout).toBe(`Failed to remount ${SERVER}:${EXPORT} under ${system}\nhb: invalid mount point ${JSON.stringify(system)}: a system folder: hb never mounts a pool over it\n`);
    }
    await expect(readFile(dir.file("mount-args"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("kvmheartbeat -r and kvmvmactivity answer with upstream's first line", async () => {
    await writeFile(dir.file("mounts"), `${SERVER}:${EXPORT} ${mount} nfs4 rw 0 0\n`);
    await writeFile(`${mount}/KVMHA/hb-${HOST}`, `${now() - 400}\n`);
    const read = await asAgent(["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", mount, "-h", HOST, "-r", "-t", "60"], env, 60_000);
    expect(read.code).toBe(0);
    expect(read.stdout).toMatch(/^=====> Considering host as DEAD because last write on \[.*\/KVMHA\/\/hb-10\.0\.0\.5\] was \[40\d\] seconds ago, but the max interval is \[60\] <======\n$/);
    const activity = await asAgent(["compat", "kvmvmactivity", "-i", SERVER, "-m", mount, "-h", HOST, "-u", "", "-t", String(now()), "-d", String(now() - 300)], env, 60_000);
    expect(activity).toMatchObject({ code: 0, stdout: "=====> Considering host as DEAD due to empty UUIDList <======\n", killedByAgent: false });
  });
});

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`SKIPPED: entry points on hung storage: ${unavailable}`);

describe.skipIf(unavailable !== null)("the built entry points on hung storage (a real FUSE mount)", () => {
  it("answer by themselves before the agent's timeout: kvmvmactivity (3.6 s) and kvmheartbeat -r cannot judge (no DEAD in the first line), a write fails", async () => {
    const faultFs = await mountFaultFs({ files: { [`KVMHA/hb-${HOST}`]: `${now() - 600}\n`, "vol-1": "disk" } });
    const dir = await makeTempDir("hb-compat-hung-");
    try {
      await writeFile(dir.file("mounts"), `${SERVER}:${EXPORT} ${faultFs.mountPoint} nfs4 rw 0 0\n`);
      await writeFile(dir.file("agent.properties"), `hb.mounts.file=${dir.file("mounts")}\nkvm.heartbeat.checker.timeout=2500\nheartbeat.update.timeout=2500\n`);
      const env = { ...process.env, AGENT_PROPS: dir.file("agent.properties") };
      await faultFs.setFault({ hang: true, ops: ["open", "read", "getattr", "write", "create"] });

      // The agent gives kvmvmactivity.sh 3600 "seconds" that are milliseconds.
      const activity = await asAgent(["compat", "kvmvmactivity", "-i", SERVER, "-m", faultFs.mountPoint, "-h", HOST, "-u", "vol-1", "-t", String(now()), "-d", String(now() - 300)], env, 3_600);
      expect(activity.killedByAgent).toBe(false);
      expect(activity.code).toBe(0);
      expect(activity.stdout).toMatch(/^=====> CANNOT JUDGE: the heartbeat file could not be read within \d+ ms <=====\nhb: cannot judge: .*\(the agent reads this as ALIVE\)\n$/);

      const read = await asAgent(["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", faultFs.mountPoint, "-h", HOST, "-r", "-t", "60"], env, 2_500);
      expect(read).toMatchObject({ killedByAgent: false, code: 0 });
      expect(read.stdout).toMatch(/^=====> CANNOT JUDGE: the heartbeat file could not be read within \d+ ms <=====\nhb: cannot judge: /);

      const write = await asAgent(["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", faultFs.mountPoint, "-h", HOST], env, 2_500);
      expect(write).toMatchObject({ killedByAgent: false, code: 1 });
      expect(write.stdout).toMatch(/^Failed to write .*\/KVMHA\/\/hb-10\.0\.0\.5: no answer within \d+ ms/);
    } finally {
      await faultFs.unmount();
      await dir.remove();
    }
  });

  it("kvmheartbeat -r and kvmvmactivity facing EIO on a stale heartbeat: the agent's merged first line has no DEAD", async () => {
    const faultFs = await mountFaultFs({ files: { [`KVMHA/hb-${HOST}`]: `${now() - 600}\n`, "vol-1": "disk" } });
    const dir = await makeTempDir("hb-compat-eio-");
    try {
      await writeFile(dir.file("mounts"), `${SERVER}:${EXPORT} ${faultFs.mountPoint} nfs4 rw 0 0\n`);
      await writeFile(dir.file("agent.properties"), `hb.mounts.file=${dir.file("mounts")}\n`);
      const env = { ...process.env, AGENT_PROPS: dir.file("agent.properties") };
      await faultFs.setFault({ errno: 5, ops: ["read"] });
      const read = await asAgent(["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", faultFs.mountPoint, "-h", HOST, "-r", "-t", "60"], env, 60_000);
      expect(read).toMatchObject({ killedByAgent: false, code: 0 });
      expect(read.stdout).toMatch(/^=====> CANNOT JUDGE: the heartbeat file cannot be read \(Input\/output error\) <=====\nhb: cannot judge: /);
      // No volume written since the suspect time: only the unreadable heartbeat stands between this and DEAD.
      const activity = await asAgent(["compat", "kvmvmactivity", "-i", SERVER, "-m", faultFs.mountPoint, "-h", HOST, "-u", "vol-1", "-t", String(now()), "-d", String(now() + 60)], env, 3_600);
      expect(activity).toMatchObject({ killedByAgent: false, code: 0 });
      expect(activity.stdout).toMatch(/^=====> CANNOT JUDGE: the heartbeat file cannot be read \(Input\/output error\) <=====\n/);
    } finally {
      await faultFs.unmount();
      await dir.remove();
    }
  });
});
