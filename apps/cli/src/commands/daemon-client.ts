import { HbError, resolveConfig } from "@hb/config";
import { connect } from "node:net";
import { join } from "node:path";
import { propertiesPath, readPropertiesOrDefaults, type RunDeps } from "../context.js";

export class DaemonUnreachableError extends HbError {
  constructor(message: string) {
    super("DAEMON_UNREACHABLE", message);
  }
}

/** The effective configuration hb and hbd share, from --file / AGENT_PROPS / the default path. */
export async function sharedConfig(file: string | undefined, deps: RunDeps) {
  return resolveConfig(await readPropertiesOrDefaults(propertiesPath(file, deps), deps)).values;
}

/** GET a JSON document from hbd's read-only status endpoint, within the local step deadline. */
export async function fetchStatus(listen: string, deadlineMs: number): Promise<unknown> {
  const url = `http://${listen}/status`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(deadlineMs) });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    return await response.json();
  } catch (error) {
    throw new DaemonUnreachableError(`hbd does not answer at ${url}: ${(error as Error).message}`);
  }
}

/** One request on hbd's control socket (root only), one answer. */
export function controlRequest(stateDir: string, request: unknown, deadlineMs: number): Promise<unknown> {
  const path = join(stateDir, "hbd.sock");
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let data = "";
    const fail = (message: string) => {
      socket.destroy();
      reject(new DaemonUnreachableError(message));
    };
    socket.setTimeout(deadlineMs, () => fail(`hbd's control socket ${path} did not answer within ${deadlineMs} ms`));
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (data += chunk));
    socket.on("error", (error: NodeJS.ErrnoException) =>
      fail(error.code === "EACCES" ? `permission denied on ${path}: only root may change hbd` : `cannot reach hbd at ${path}: ${error.code ?? error.message}`),
    );
    socket.on("end", () => {
      try {
        const answer = JSON.parse(data) as { ok: boolean; result?: unknown; error?: string };
        if (answer.ok) resolve(answer.result);
        else reject(new HbError("DAEMON_REFUSED", `hbd refused: ${answer.error ?? "no reason"}`));
      } catch {
        fail(`hbd's answer was not JSON: ${data.slice(0, 200)}`);
      }
    });
    socket.write(`${JSON.stringify(request)}\n`);
  });
}
