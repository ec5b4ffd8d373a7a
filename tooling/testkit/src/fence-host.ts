// Fakes at the ports for hb's fence commands and hbd's fence: logger/systemctl/sync/wdctl/modprobe
// on PATH that record their argv into one events file, which is also the sysrq trigger (it
// receives "s", "b").
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { makeTempDir, type TempDir } from "./temp-dir.js";

export type FenceBehaviour = "ok" | "hang" | "fail";

export interface FenceHost {
  readonly temp: TempDir;
  readonly bin: string;
  readonly events: string;
  readonly stateDir: string;
  readonly properties: string;
  /** PATH with the fakes first. */
  readonly path: string;
  /** Writes agent.properties: the given lines after the test's own paths and short waits. */
  writeProperties(lines?: readonly string[]): Promise<void>;
  eventNames(): Promise<string[]>;
  records(): Promise<Record<string, unknown>[]>;
  /** Polls until an event satisfies the predicate (the detached action runs on its own). */
  waitForEvent(predicate: (line: string) => boolean, timeoutMs?: number): Promise<string[]>;
}

export async function fenceHost(behaviours: Partial<Record<string, FenceBehaviour>> = {}): Promise<FenceHost> {
  const temp = await makeTempDir("hb-cli-fence-");
  const bin = temp.file("bin");
  await mkdir(bin);
  const events = temp.file("events");
  await writeFile(events, "");
  for (const name of ["logger", "systemctl", "sync", "wdctl", "modprobe"]) {
    const tail = { ok: "exit 0", fail: 'echo "Failed to connect to bus: Host is down" >&2; exit 1', hang: "exec sleep 600" }[behaviours[name] ?? "ok"];
    const record = `line=${JSON.stringify(name)}; for a in "$@"; do line="$line $a"; done; printf '%s\\n' "$line" >> ${JSON.stringify(events)}`;
    await writeFile(`${bin}/${name}`, `#!/bin/sh\n${record}\n${tail}\n`);
    await chmod(`${bin}/${name}`, 0o755);
  }
  const host: FenceHost = {
    temp,
    bin,
    events,
    stateDir: temp.file("state"),
    properties: temp.file("agent.properties"),
    path: `${bin}:${process.env.PATH ?? ""}`,
    async writeProperties(lines = []) {
      const own = [
        `hb.state.dir=${host.stateDir}`,
        `hb.fence.sysrq.trigger=${events}`,
        `hb.watchdog.device=${temp.file("no-watchdog")}`,
        "hb.fence.flush.wait=200",
        "hb.fence.step.timeout=300",
        "hb.fence.graceful.deadline=1500",
      ];
      await writeFile(host.properties, `${[...own, ...lines].join("\n")}\n`);
    },
    async eventNames() {
      return (await readFile(events, "utf8")).split("\n").filter((line) => line !== "");
    },
    async records() {
      const text = await readFile(`${host.stateDir}/fence.jsonl`, "utf8");
      return text
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    async waitForEvent(predicate, timeoutMs = 10_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const names = await host.eventNames();
        if (names.some(predicate)) return names;
        if (Date.now() > until) throw new Error(`no such event within ${timeoutMs} ms; events: ${JSON.stringify(names)}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
  };
  await host.writeProperties();
  return host;
}

/**
 * hb.fence.step.timeout of a roomy host: its default, 2 s, instead of 0.3 s. The fence record and
 * hbd's answer each come from a child process (a hung state folder must not pin the process that
 * fences), and a Node start on a loaded test machine can take a few hundred ms.
 */
export const ROOMY_STEP_MS = 2000;

/** fenceHost with hb.fence.step.timeout at ROOMY_STEP_MS. */
export async function roomyFenceHost(behaviours: Parameters<typeof fenceHost>[0] = {}): Promise<FenceHost> {
  const host = await fenceHost(behaviours);
  const roomy: FenceHost = {
    ...host,
    async writeProperties(lines = []) {
      await host.writeProperties(lines);
      // The same line, so that line numbers in notices stay as the tests expect them.
      await writeFile(host.properties, (await readFile(host.properties, "utf8")).replace("hb.fence.step.timeout=300", `hb.fence.step.timeout=${ROOMY_STEP_MS}`));
    },
  };
  await roomy.writeProperties();
  return roomy;
}
