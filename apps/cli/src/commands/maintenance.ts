import { HbError, statusSettings } from "@hb/config";
import { printable } from "@hb/core";
import { UntrustedStateError } from "@hb/fence";
import { MAINTENANCE_TTL_MAX_MS, readMaintenanceAnswer, type ControlRequest } from "@hb/protocol";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { UsageError } from "../errors.js";
import { sharedConfig } from "../lib/config.js";
import { askControl, DaemonUnreachableError } from "../lib/hbd-client.js";

const USAGE = "hb maintenance on --ttl DURATION [--reason TEXT] | off [--file F]";
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * 30m, 1h, 90s, 500ms; a bare number is seconds. Refused here, before hbd is asked: 0, which
 * suspends nothing, and more than hbd grants (MAINTENANCE_TTL_MAX_MS).
 */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h)?$/.exec(text.trim());
  if (match === null) throw new UsageError(`--ttl ${JSON.stringify(text)}: expected a duration such as 30m, 1h, 90s`);
  const ms = Number(match[1]) * (UNITS[match[2] ?? "s"] ?? 1000);
  if (ms === 0) throw new UsageError(`--ttl ${JSON.stringify(text)}: suspends nothing; expected a duration such as 30m, 1h, 90s`);
  if (ms > MAINTENANCE_TTL_MAX_MS) {
    throw new UsageError(`--ttl ${JSON.stringify(text)}: longer than ${MAINTENANCE_TTL_MAX_MS / 3_600_000} h, the longest maintenance hbd grants`);
  }
  return ms;
}

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const { values, positionals: words } = parseCommandArgs(
    argv,
    { file: { type: "string", short: "f" }, ttl: { type: "string" }, reason: { type: "string" } },
    USAGE,
  );
  const [mode] = positionals(words, 1, USAGE);
  // Checked before anything is read or asked: a bad --ttl never reaches hbd.
  let ttlMs: number | undefined;
  if (mode === "on") {
    if (values.ttl === undefined) throw new UsageError(`maintenance on needs --ttl: fencing is only ever suspended for a bounded time (usage: ${USAGE})`);
    ttlMs = parseDuration(values.ttl);
  }
  const config = await sharedConfig(values.file, deps);
  const request: ControlRequest | null = ttlMs !== undefined ? { op: "maintenance-on", ttlMs, reason: values.reason ?? "operator" } : mode === "off" ? { op: "maintenance-off" } : null;
  if (request === null) throw new UsageError(`usage: ${USAGE}`);
  const { stateDir, stepTimeoutMs } = statusSettings(config);
  const result = await ask(stateDir, request, deps, stepTimeoutMs);
  if (request.op === "maintenance-on") {
    const granted = readMaintenanceAnswer(result)?.until ?? null;
    const until = granted === null ? "?" : printable(granted);
    deps.stdout(`fencing suspended until ${until}; heartbeats continue\n`);
  } else {
    deps.stdout("maintenance ended: fencing active\n");
  }
  return 0;
}

/**
 * One request over hbd's control socket, through the same checked channel as -c (a child bounded
 * by the step deadline; the socket and its folder owned by root and writable by no one else): a
 * socket someone else could have placed is never sent a request nor believed.
 */
async function ask(stateDir: string, request: ControlRequest, deps: RunDeps, deadlineMs: number): Promise<unknown> {
  const answer = await askControl(stateDir, request, deps, deadlineMs);
  if (answer.ok) return answer.result;
  if (answer.failure === "untrusted") throw new UntrustedStateError(answer.socket, `hbd's control socket cannot be trusted, nothing sent: ${answer.reason}`);
  if (answer.failure === "refused") throw new HbError("DAEMON_REFUSED", answer.reason);
  throw new DaemonUnreachableError(`cannot ask hbd: ${answer.reason}`);
}
