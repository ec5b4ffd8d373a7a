// Runs one reader row of the fault matrix: the built hb, as the agent runs it (by path, stdout
// and stderr merged, killed at a timeout), judging a suspect's heartbeat file on a real FUSE
// mount that fails as the row says.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { performance } from "node:perf_hooks";
import { makeTempDir, mountFaultFs } from "@hb/testkit";
import type { ReaderRow } from "../fault-matrix.table.js";

const HB = fileURLToPath(new URL("../../../cli/bin/hb.js", import.meta.url));
const HB_BUILD = fileURLToPath(new URL("../../../cli/dist/main.js", import.meta.url));
const SUSPECT = "10.0.0.9";
const SERVER = "10.0.0.2";
const EXPORT = "/export/primary";
// The agent's own timeout for the script: far above a reader's answer, so a hang shows as one.
const AGENT_TIMEOUT_MS = 30_000;

export interface ReaderResult {
  readonly exitCode: number | null;
  /** stdout and stderr merged, as the agent reads them. */
  readonly output: string;
  readonly firstLine: string;
  readonly durationMs: number;
  readonly killed: boolean;
}

/** Why reader rows cannot run here, or null. */
export function readerUnavailableReason(fuse: string | null): string | null {
  if (fuse !== null) return fuse;
  if (!existsSync(HB_BUILD)) return "hb is not built (apps/cli/dist/main.js): run `pnpm --filter @hb/cli build`";
  return null;
}

export function readerArgv(row: ReaderRow, mountPoint: string, file: string): string[] {
  return row.reader === "nfs-check"
    ? ["nfs", "check", "--mount", mountPoint, "--host", SUSPECT, "--file", file]
    : ["compat", "kvmheartbeat", "-i", SERVER, "-p", EXPORT, "-m", mountPoint, "-h", SUSPECT, "-r", "-t", "60"];
}

export async function runReader(row: ReaderRow): Promise<ReaderResult> {
  const written = Math.floor(Date.now() / 1000) - row.heartbeatAgeS;
  const fuse = await mountFaultFs({ files: { [`KVMHA/hb-${SUSPECT}`]: `${written}\n` } });
  const temp = await makeTempDir(`hb-matrix-${row.id}-`);
  try {
    await writeFile(temp.file("mounts"), `${SERVER}:${EXPORT} ${fuse.mountPoint} nfs4 rw 0 0\n`);
    const file = temp.file("agent.properties");
    await writeFile(file, `hb.mounts.file=${temp.file("mounts")}\n`);
    if (row.storageFault !== undefined) await fuse.setFault(row.storageFault);
    const started = performance.now();
    const run = await new Promise<{ code: number | null; output: string; killed: boolean }>((resolve) => {
      let output = "";
      const child = execFile(process.execPath, [HB, ...readerArgv(row, fuse.mountPoint, file)], { env: { ...process.env, AGENT_PROPS: file }, timeout: AGENT_TIMEOUT_MS, killSignal: "SIGKILL" }, (error) =>
        resolve({ code: child.exitCode, output, killed: error?.killed === true }),
      );
      child.stdout?.on("data", (chunk: Buffer) => void (output += chunk.toString()));
      child.stderr?.on("data", (chunk: Buffer) => void (output += chunk.toString()));
    });
    return { exitCode: run.code, output: run.output, firstLine: run.output.split("\n")[0] ?? "", durationMs: performance.now() - started, killed: run.killed };
  } finally {
    await fuse.unmount();
    await temp.remove();
  }
}

/** What a reader row's result breaks of its promise, in words; empty when it holds. */
export function judgeReader(row: ReaderRow, result: ReaderResult): string[] {
  const problems: string[] = [];
  if (result.killed) problems.push(`no answer within ${AGENT_TIMEOUT_MS} ms (killed, as the agent would)`);
  if (result.exitCode !== row.expected.exitCode) problems.push(`exit ${String(result.exitCode)}, expected ${row.expected.exitCode}`);
  if (!row.expected.firstLine.test(result.firstLine)) problems.push(`first line ${JSON.stringify(result.firstLine)}, expected ${String(row.expected.firstLine)}`);
  if (/DEAD/.test(result.firstLine) !== row.expected.dead) problems.push(row.expected.dead ? "the first line does not say DEAD" : "the first line says DEAD without evidence");
  return problems;
}
