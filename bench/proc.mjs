// /proc readers the benchmarks share: CPU of a process tree (live children to the nanosecond,
// reaped ones from cutime + cstime) and memory. Only files that never wait on the process are
// read: a stuck worker sits in the kernel.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const TICKS = 100; // clock ticks per second (/proc/<pid>/stat)

/** hbd as the packaged executable starts it: with the V8 flags of its SEA configuration. */
export const EXEC_ARGV = JSON.parse(readFileSync(fileURLToPath(new URL("../packaging/node.json", import.meta.url)), "utf8")).execArgv ?? [];

export const read = (file) => {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return null; // the process is gone
  }
};
/**
 * Fields of /proc/<pid>/stat from the state on (proc(5) field 3 is [0] here): utime, stime, cutime
 * and cstime (fields 14 to 17) are [11] to [14].
 */
export const statFields = (pid) => {
  const text = read(`/proc/${pid}/stat`);
  return text === null ? null : text.slice(text.lastIndexOf(") ") + 2).split(" ");
};
export const children = (pid) => {
  let tasks;
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  // Every thread's children: a child belongs to the thread that forked it.
  return tasks.flatMap((task) => (read(`/proc/${pid}/task/${task}/children`) ?? "").split(" ").filter(Boolean).map(Number));
};
export const descendants = (pid) => children(pid).flatMap((child) => [child, ...descendants(child)]);

/**
 * A live child's CPU in ms, to the nanosecond: its threads' run time (/proc/<pid>/task/<tid>/
 * schedstat), since utime + stime come in whole 10 ms ticks and a kept worker may spend less than
 * one between two samples. Zombies and processes without schedstat: utime + stime.
 */
export const ownMs = (pid, fields) => {
  if (fields[0] !== "Z") {
    try {
      return readdirSync(`/proc/${pid}/task`).reduce((sum, task) => sum + Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, "utf8").split(" ")[0]) / 1e6, 0);
    } catch {
      // no schedstat here, or the process just ended: its ticks
    }
  }
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
};
export const reapedMs = (fields) => ((Number(fields[13]) + Number(fields[14])) * 1000) / TICKS;

/**
 * CPU ms of pid and everything below it, live or reaped: each process's own time plus what its
 * reaped children spent (cutime + cstime). The difference of two samples is the tree's CPU in
 * between: a child reaped in between moves its whole time into its parent's cutime, and its share
 * before the first sample is subtracted with that sample.
 */
export function treeMs(pid) {
  for (;;) {
    const before = statFields(pid);
    if (before === null) throw new Error(`process ${pid} is gone`);
    let ms = 0;
    for (const child of descendants(pid)) {
      const f = statFields(child);
      if (f !== null) ms += ownMs(child, f) + reapedMs(f);
    }
    const after = statFields(pid);
    // A child reaped during the walk could count twice or not at all: walk again.
    if (after === null || after[13] !== before[13] || after[14] !== before[14]) continue;
    return ms + ((Number(after[11]) + Number(after[12])) * 1000) / TICKS + reapedMs(after);
  }
}
/** The process's own CPU (utime + stime), in ms. */
export const cpuMs = (pid) => {
  const fields = statFields(pid);
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
};

/**
 * The agent.properties of a benchmark's hbd, in `dir`: these pools (folders presented as NFS
 * mounts by a mount table beside it), fencing in dry run, status on a free port, plus `extra` lines.
 */
export function writeHbdProperties(dir, { frequencyMs, pools, extra = [] }) {
  writeFileSync(join(dir, "mounts"), pools.map((pool) => `10.0.0.2:/export ${pool} nfs rw 0 0`).join("\n") + "\n");
  const file = join(dir, "agent.properties");
  writeFileSync(
    file,
    [
      "heartbeat.update.timeout=10000",
      `kvm.heartbeat.update.frequency=${frequencyMs}`,
      "kvm.heartbeat.update.max.tries=2",
      "kvm.heartbeat.update.retry.sleep=500",
      "hb.fence.dry.run=true",
      "hb.fence.scope=all",
      `hb.fence.sysrq.trigger=${join(dir, "sysrq")}`,
      "hb.host.ip=10.0.0.5",
      "hb.status.listen=127.0.0.1:0",
      `hb.state.dir=${join(dir, "state")}`,
      `hb.mounts.file=${join(dir, "mounts")}`,
      `hb.pools=${pools.map((pool) => `nfs:${pool}`).join(";")}`,
      ...extra,
    ].join("\n") + "\n",
  );
  return file;
}
