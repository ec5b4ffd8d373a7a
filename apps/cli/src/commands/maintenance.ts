import { MAINTENANCE_TTL_MAX_MS } from "@hb/config";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { UsageError } from "../errors.js";
import { controlRequest, sharedConfig } from "./daemon-client.js";

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
  const deadline = config["hb.fence.step.timeout"];
  if (ttlMs !== undefined) {
    const result = (await controlRequest(config["hb.state.dir"], { op: "maintenance-on", ttlMs, reason: values.reason ?? "operator" }, deadline)) as {
      maintenanceUntil: { until: string } | null;
    };
    deps.stdout(`fencing suspended until ${result.maintenanceUntil?.until ?? "?"}; heartbeats continue\n`);
    return 0;
  }
  if (mode === "off") {
    await controlRequest(config["hb.state.dir"], { op: "maintenance-off" }, deadline);
    deps.stdout("maintenance ended: fencing active\n");
    return 0;
  }
  throw new UsageError(`usage: ${USAGE}`);
}
