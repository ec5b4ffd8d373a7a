// Evaluated only while the startup snapshot is built (entry.mjs): the agent's entry points
// (`hb compat …`, every heartbeat write and read and the neighbour checks) loaded, then one
// neighbour read rehearsed, so that a start finds their modules evaluated and their functions
// compiled (the snapshot keeps bytecode). Not the -c fence paths (their crypto and fence modules
// would weigh on every start) nor any operator command.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "hb:cli-main";
import "../../apps/cli/src/commands/compat.ts";
import "../../apps/cli/src/compat/nfs.ts";
import "../../apps/cli/src/compat/smp.ts";
import { run } from "../../apps/cli/src/run.ts";

const NOW_S = 1_700_000_000;

/**
 * `hb compat kvmheartbeat -r` on a pool that a temporary mount table shows mounted, with fakes
 * at the ports: a clock, and an executor whose `dd` answers a fresh heartbeat. Nothing is
 * started, nothing outside the temporary folder is read or written.
 */
export async function rehearse() {
  const dir = mkdtempSync(join(tmpdir(), "hb-snapshot-"));
  try {
    const pool = join(dir, "pool");
    writeFileSync(join(dir, "mounts"), `10.0.0.2:/export ${pool} nfs rw,vers=3 0 0\n`);
    writeFileSync(join(dir, "agent.properties"), `hb.mounts.file=${join(dir, "mounts")}\n`);
    const out = [];
    const deps = {
      stdout: (text) => out.push(text),
      stderr: (text) => out.push(text),
      env: { AGENT_PROPS: join(dir, "agent.properties") },
      version: "0.0.0",
      executor: { run: async () => ({ exitCode: 0, signal: null, stdout: `${NOW_S}\n`, stderr: "", timedOut: false, durationMs: 1 }) },
      clock: { wallMs: () => NOW_S * 1000, monoMs: () => 1, setTimer: () => ({ cancel() {} }), sleep: async () => {} },
    };
    const code = await run(["compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export", "-m", pool, "-h", "10.0.0.5", "-r", "-t", "60"], deps);
    if (code !== 0 || out[0] !== "=====> ALIVE <=====\n") throw new Error(`the snapshot's rehearsal of the read path: exit ${code}, ${JSON.stringify(out)}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
