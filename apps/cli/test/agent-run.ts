// An entry point as the CloudStack agent starts it: a real process of bin/hb.js, with the host's
// PATH (the fakes first) and AGENT_PROPS, stdout and stderr read apart.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));

/** Where the agent's environment points: the fakes' folder and agent.properties (a FenceHost has both). */
export interface AgentEnv {
  readonly path: string;
  readonly properties: string;
}

export interface ScriptRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function start(host: AgentEnv, args: readonly string[], agentTimeoutMs: number | undefined): Promise<ScriptRun & { readonly killed: boolean }> {
  const child = spawn(process.execPath, [bin, "compat", ...args], { env: { ...process.env, PATH: host.path, AGENT_PROPS: host.properties }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let killed = false;
  const timer =
    agentTimeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          killed = true;
          child.kill("SIGKILL");
        }, agentTimeoutMs);
  child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk));
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, killed });
    }),
  );
}

/** `hb compat ARGS…` run to its end. */
export async function runCompat(host: AgentEnv, args: readonly string[]): Promise<ScriptRun> {
  const { code, stdout, stderr } = await start(host, args, undefined);
  return { code, stdout, stderr };
}

/** `hb compat ARGS…` killed at agentTimeoutMs, as the agent kills a script at heartbeat.update.timeout. */
export function runCompatKilledAt(host: AgentEnv, args: readonly string[], agentTimeoutMs: number): Promise<ScriptRun & { readonly killed: boolean }> {
  return start(host, args, agentTimeoutMs);
}
