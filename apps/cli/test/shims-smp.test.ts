// The agent's script folder of a SharedMountPoint host, end to end: `hb shims install` replaces
// kvmsmpheartbeat.sh and the sourced helper kvmha-fence.sh (PR #13090); the agent's calls then
// run hb, as real processes. The pool is a temp folder that a mount table of its own calls a GFS2
// mount; the fence lands in the fake fence host (logger, sync on PATH, sysrq into a temp file).
import { spawn } from "node:child_process";
import { chmod, mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type FenceHost, roomyFenceHost } from "@hb/testkit";
import { inspectShims } from "../src/lib/shims.js";
import { runHb } from "./harness.js";

const HOST = "10.0.0.5";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const ORIGINAL_SMP = "#!/bin/bash\n# upstream kvmsmpheartbeat.sh\necho b > /proc/sysrq-trigger\n";
const ORIGINAL_HELPER = "#!/bin/bash\n# upstream kvmha-fence.sh\nfence_action() {\n  echo b > /proc/sysrq-trigger\n  exit $?\n}\n";
// A heartbeat script of PR #13090's branch: its -c sources the helper beside it and calls
// fence_action with its own name, with its getopts variables (MountPoint) in scope.
const SOURCING_SCRIPT = `#!/bin/bash
MountPoint=
cflag=0
while getopts 'i:p:m:h:t:rc' OPTION; do
  case $OPTION in
  m) MountPoint="$OPTARG" ;;
  c) cflag=1 ;;
  *) ;;
  esac
done
if [ "$cflag" == "1" ]; then
  source "$(dirname "$0")/kvmha-fence.sh"
  fence_action "kvmsmpheartbeat.sh"
fi
exit 0
`;

interface Setup {
  readonly fake: FenceHost;
  readonly scripts: string;
  readonly pool: string;
  properties(lines?: readonly string[]): Promise<void>;
}

async function setup(withHelper = true): Promise<Setup> {
  const fake = await roomyFenceHost();
  cleanups.push(() => fake.temp.remove());
  const scripts = fake.temp.file("scripts");
  const pool = fake.temp.file("gfs2");
  await mkdir(scripts);
  await mkdir(pool);
  const files: Record<string, string> = { "kvmsmpheartbeat.sh": ORIGINAL_SMP, "kvmsmpheartbeat-branch.sh": SOURCING_SCRIPT, ...(withHelper ? { "kvmha-fence.sh": ORIGINAL_HELPER } : {}) };
  for (const [name, text] of Object.entries(files)) {
    await writeFile(`${scripts}/${name}`, text);
    await chmod(`${scripts}/${name}`, 0o755);
  }
  const mounts = fake.temp.file("mounts");
  await writeFile(mounts, `/dev/sda1 / ext4 rw 0 0\n/dev/mapper/cluster ${pool} gfs2 rw 0 0\n`);
  const properties = (lines: readonly string[] = []) => fake.writeProperties([`hb.mounts.file=${mounts}`, `hb.host.ip=${HOST}`, ...lines]);
  await properties();
  return { fake, scripts, pool, properties };
}

/** Runs a script of the folder as the agent does: by path, AGENT_PROPS and PATH from the host. */
function agentRuns(s: Setup, script: string, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(`${s.scripts}/${script}`, args, { env: { ...process.env, PATH: s.fake.path, AGENT_PROPS: s.fake.properties }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const upstreamLine = "logger -t heartbeat -- kvmsmpheartbeat.sh will reboot system because it was unable to write the heartbeat to the storage.";

describe("shims on a SharedMountPoint host", () => {
  it("replaces kvmsmpheartbeat.sh and kvmha-fence.sh, keeping the originals; the write, the check and -c then run hb", async () => {
    const s = await setup();
    const install = await runHb(["shims", "install", "--dir", s.scripts]);
    expect(install.code).toBe(0);
    expect(install.stdout).toContain("kvmsmpheartbeat.sh: installed, original kept as kvmsmpheartbeat.sh.orig");
    expect(install.stdout).toContain("kvmha-fence.sh: installed, original kept as kvmha-fence.sh.orig");
    expect(await readFile(`${s.scripts}/kvmha-fence.sh.orig`, "utf8")).toBe(ORIGINAL_HELPER);
    expect((await inspectShims(s.scripts)).scripts.find((script) => script.name === "kvmha-fence.sh")).toMatchObject({ state: "installed", original: true });

    expect(await agentRuns(s, "kvmsmpheartbeat.sh", ["-i", "10.0.0.2", "-p", "/gfs2", "-m", s.pool, "-h", HOST])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await readFile(`${s.pool}/KVMHA/hb-${HOST}`, "utf8")).toMatch(/^\d{10}\n$/);
    const checked = await agentRuns(s, "kvmsmpheartbeat.sh", ["-i", "10.0.0.2", "-p", "/gfs2", "-m", s.pool, "-h", HOST, "-r", "-t", "60"]);
    expect(checked).toMatchObject({ code: 0, stdout: "=====> ALIVE <=====\n" });

    expect(await agentRuns(s, "kvmsmpheartbeat.sh", ["-i", "10.0.0.2", "-p", "/gfs2", "-m", s.pool, "-c"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await s.fake.eventNames()).toEqual([upstreamLine, "s", "sync", "b"]);
    expect(await s.fake.records()).toEqual([expect.objectContaining({ source: "kvmsmpheartbeat.sh", target: s.pool, isFence: true })]);
  });

  it("a script that sources the helper fences through hb, named by its tag and its pool: hb.fence.verify and the action apply", async () => {
    const s = await setup();
    expect((await runHb(["shims", "install", "--dir", s.scripts])).code).toBe(0);
    // Upstream's helper reboots whatever kvm.heartbeat.fence.action says about verification; hb verifies first.
    await s.properties(["hb.fence.verify=storage"]);
    expect(await agentRuns(s, "kvmsmpheartbeat-branch.sh", ["-m", s.pool, "-c"])).toMatchObject({ code: 0 });
    expect(await s.fake.eventNames()).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- kvmsmpheartbeat\.sh -c: not fencing \((?:hard-)?reboot\), vetoed by hb\.fence\.verify=storage: one more heartbeat write to /)]);

    await s.properties(["kvm.heartbeat.fence.action=hard-reboot"]);
    await writeFile(s.fake.events, "");
    expect(await agentRuns(s, "kvmsmpheartbeat-branch.sh", ["-m", s.pool, "-c"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await s.fake.eventNames()).toEqual([upstreamLine, "s", "sync", "b"]);
    expect((await s.fake.records()).at(-1)).toMatchObject({ source: "kvmsmpheartbeat.sh", target: s.pool });

    // uninstall puts upstream's helper back.
    expect((await runHb(["shims", "uninstall", "--dir", s.scripts])).stdout).toContain("kvmha-fence.sh: original restored from kvmha-fence.sh.orig");
    expect(await readFile(`${s.scripts}/kvmha-fence.sh`, "utf8")).toBe(ORIGINAL_HELPER);
  });

  it("leaves a folder without kvmha-fence.sh without one, and counts it complete", async () => {
    const s = await setup(false);
    const install = await runHb(["shims", "install", "--dir", s.scripts]);
    expect(install.stdout).not.toContain("kvmha-fence.sh");
    const report = await inspectShims(s.scripts);
    expect(report.inPlace).toBe(true);
    expect(report.scripts.map((script) => script.name)).not.toContain("kvmha-fence.sh");
    await expect(readFile(`${s.scripts}/kvmha-fence.sh`)).rejects.toMatchObject({ code: "ENOENT" });
    // The heartbeat script itself is never optional: a missing one is reported.
    await unlink(`${s.scripts}/kvmsmpheartbeat.sh`);
    expect((await inspectShims(s.scripts)).inPlace).toBe(false);
  });
});
