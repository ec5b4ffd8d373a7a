import { printable } from "@hb/core";
import {
  parseVolumeList,
  resolveVolume,
  validateHostId,
  validateMountArguments,
  validateMountPoint,
  validateRemountPoint,
  nfsReaderSettings,
  nfsWriterSettings,
  type ActivityCheckResult,
  type ScanSkippedEntry,
} from "@hb/storage-nfs";
import { parseCommandArgs, positionals, wholeNumberOption } from "../args.js";
import type { RunDeps } from "../context.js";
import { sharedConfig } from "../lib/config.js";
import { UsageError } from "../errors.js";
import { ACTIVITY_ANSWER_MS } from "../lib/nfs.js";
import { checkActivity, checkNeighbour, scanPool, seconds, writeOwnHeartbeat, type CheckReport, type ScanOutcome, type WriteOutcome } from "../lib/nfs-pool.js";

const USAGES = {
  write: "hb nfs write --mount M [--host H] [--server S --export P] [--timeout MS] [--no-record] [--file F]",
  check: "hb nfs check --mount M --host H [--max-age SECONDS] [--timeout MS] [--json] [--file F]",
  activity: "hb nfs activity --mount M --host H --volumes V1,V2… --suspect-time EPOCH [--timeout MS] [--json] [--file F]",
  scan: "hb nfs scan --mount M [--max-age SECONDS] [--timeout MS] [--json] [--file F]",
} as const;
type Verb = keyof typeof USAGES;

export const NFS_USAGE = `hb nfs — the NFS heartbeat file <mount>/KVMHA/hb-<host>

Usage:
  ${USAGES.write}
      write this host's heartbeat (tmp file, fsync, rename, fsync folder, O_DIRECT read-back);
      with --server and --export, remount the pool first as upstream does. Exit 0 written, 1 failed.
  ${USAGES.check}
      a neighbour's view of one host. Exit 0 ALIVE, 1 DEAD (a readable heartbeat older than
      --max-age), 2 cannot judge (file missing, empty or garbage, I/O error, timeout, not mounted).
  ${USAGES.activity}
      kvmvmactivity.sh's check (heartbeat < 61 s, or volume activity). Exit 0 active, 1 not (a stale
      heartbeat and no volume written since the suspect time), 2 cannot judge.
  ${USAGES.scan}
      every host's heartbeat in the pool. Exit 0 all ALIVE, 1 some DEAD, 2 could not scan or
      some host cannot be judged (and none is DEAD).

Defaults: --timeout from heartbeat.update.timeout (write), kvm.heartbeat.checker.timeout (check, scan)
or ${ACTIVITY_ANSWER_MS} ms (activity); --max-age is what the agent passes as -t (kvm.heartbeat.update.frequency),
or hb.heartbeat.max.age when longer; --host of write is hb.host.ip. The mount table is hb.mounts.file.
`;

const OPTIONS = {
  mount: { type: "string" },
  host: { type: "string" },
  server: { type: "string" },
  export: { type: "string" },
  timeout: { type: "string" },
  "max-age": { type: "string" },
  volumes: { type: "string" },
  "suspect-time": { type: "string" },
  "no-record": { type: "boolean" },
  json: { type: "boolean" },
  file: { type: "string", short: "f" },
  help: { type: "boolean", short: "h" },
} as const;
const ALLOWED: Record<Verb, readonly string[]> = {
  write: ["mount", "host", "server", "export", "timeout", "no-record", "file"],
  check: ["mount", "host", "timeout", "max-age", "json", "file"],
  activity: ["mount", "host", "volumes", "suspect-time", "timeout", "json", "file"],
  scan: ["mount", "timeout", "max-age", "json", "file"],
};

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  const [verb = "", ...rest] = argv;
  if (verb === "--help" || verb === "-h" || verb === "help" || verb === "") {
    deps.stdout(NFS_USAGE);
    return verb === "" ? 2 : 0;
  }
  if (!Object.hasOwn(USAGES, verb)) throw new UsageError(`unknown command: hb nfs ${argv.join(" ")} (hb nfs write|check|activity|scan)`);
  const usage = USAGES[verb as Verb];
  const { values, positionals: words } = parseCommandArgs(rest, OPTIONS, usage);
  if (values.help) {
    deps.stdout(`usage: ${usage}\n`);
    return 0;
  }
  positionals(words, 0, usage);
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && !ALLOWED[verb as Verb].includes(name)) throw new UsageError(`hb nfs ${verb} does not take --${name} (usage: ${usage})`);
  }
  const config = await sharedConfig(values.file, deps);
  const reader = nfsReaderSettings(config);
  const mount = required("mount", values.mount, usage, (text) => validateMountPoint(text));
  const timeout = wholeNumberOption("timeout", values.timeout);
  const maxAge = wholeNumberOption("max-age", values["max-age"]);
  const json = values.json ?? false;
  switch (verb as Verb) {
    case "write": {
      const host = required("host", values.host ?? reader.hostIp ?? undefined, usage, validateHostId);
      if ((values.server === undefined) !== (values.export === undefined)) throw new UsageError(`--server and --export go together (usage: ${usage})`);
      if (values.server !== undefined && values.export !== undefined) {
        // Refused here, before anything runs: a server mount would read as an option, a system folder to mount over.
        const [server, exportPath] = [values.server, values.export];
        guard(() => validateMountArguments(server, exportPath, mount));
        guard(() => validateRemountPoint(mount));
      }
      return printWrite(await writeOwnHeartbeat({ mount, host, server: values.server, exportPath: values.export, timeoutMs: timeout ?? nfsWriterSettings(config).writeTimeoutMs, record: !values["no-record"], config }, deps), deps);
    }
    case "check": {
      const host = required("host", values.host, usage, validateHostId);
      const maxAgeMs = maxAge === undefined ? reader.thresholdMs : maxAge * 1000;
      return printCheck(await checkNeighbour({ mount, host, timeoutMs: timeout ?? reader.checkTimeoutMs, maxAgeMs, withRecord: json, config }, deps), { mount, host, maxAgeMs, json }, deps);
    }
    case "activity": {
      const host = required("host", values.host, usage, validateHostId);
      const volumes = parseVolumeList(required("volumes", values.volumes, usage, (text) => text));
      for (const volume of volumes) guard(() => resolveVolume(mount, volume));
      const suspectTime = wholeNumberOption("suspect-time", required("suspect-time", values["suspect-time"], usage, (text) => text)) as number;
      return printActivity(await checkActivity({ mount, host, volumes, suspectTime, timeoutMs: timeout ?? ACTIVITY_ANSWER_MS, config }, deps), { mount, host, suspectTime, json }, deps);
    }
    case "scan": {
      const maxAgeMs = maxAge === undefined ? reader.thresholdMs : maxAge * 1000;
      return printScan(await scanPool({ mount, timeoutMs: timeout ?? reader.checkTimeoutMs, maxAgeMs, config }, deps), { mount, maxAgeMs, json }, deps);
    }
  }
}

function required<T>(name: string, value: string | undefined, usage: string, validate: (text: string) => T): T {
  if (value === undefined || value === "") throw new UsageError(`--${name} is required (usage: ${usage})`);
  return guard(() => validate(value));
}

/** Bad input named by the storage package becomes a usage error (exit 2, never "DEAD"). */
function guard<T>(validate: () => T): T {
  try {
    return validate();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function printWrite(outcome: WriteOutcome, deps: RunDeps): number {
  if (outcome.kind === "remount-failed") {
    deps.stderr(`hb: ${outcome.message}\n`);
    return 1;
  }
  if (outcome.kind === "not-mounted") {
    deps.stderr(`hb: not writing: ${outcome.reason}; give --server and --export to remount\n`);
    return 1;
  }
  const { remount, result } = outcome;
  if (remount !== null) deps.stdout(`remounted ${remount.server}:${remount.exportPath} at ${remount.mountPoint}\n${remount.stopped}\n`);
  if (!result.ok) {
    deps.stderr(`hb: heartbeat not written to ${result.file}: ${result.message}\n`);
    return 1;
  }
  const proof = result.readback === "verified" ? "read back with O_DIRECT" : "fsync'ed (no O_DIRECT read-back here)";
  deps.stdout(`wrote ${result.file} in ${Math.round(result.durationMs)} ms, ${proof}${result.seq === undefined ? "" : `, record seq ${result.seq}`}\n`);
  if (result.recordError !== undefined) deps.stderr(`hb: the record beside it was not written: ${result.recordError}\n`);
  if (result.swept > 0) deps.stdout(`removed ${result.swept} temporary file(s) left by earlier killed attempts\n`);
  return 0;
}

const EXIT_FOR_VERDICT = { alive: 0, dead: 1, undecided: 2 } as const;
/** How a verdict is shown to people: "undecided" is hb's word for a reader that cannot judge. */
const LABEL = { alive: "ALIVE", dead: "DEAD", undecided: "CANNOT JUDGE" } as const;

function printCheck(result: CheckReport, args: { readonly mount: string; readonly host: string; readonly maxAgeMs: number; readonly json: boolean }, deps: RunDeps): number {
  if (args.json) {
    const file = `${args.mount}/KVMHA/hb-${args.host}`;
    deps.stdout(`${JSON.stringify({ mount: args.mount, host: args.host, file, maxAgeSeconds: seconds(args.maxAgeMs), ...result }, null, 2)}\n`);
  } else {
    deps.stdout(`${args.host}: ${LABEL[result.verdict]} (${result.reason}): ${result.message}\n`);
  }
  return EXIT_FOR_VERDICT[result.verdict];
}

function printActivity(result: ActivityCheckResult, args: { readonly mount: string; readonly host: string; readonly suspectTime: number; readonly json: boolean }, deps: RunDeps): number {
  if (args.json) {
    deps.stdout(`${JSON.stringify({ mount: args.mount, host: args.host, suspectTime: args.suspectTime, ...result }, null, 2)}\n`);
  } else if (result.decided) {
    deps.stdout(`${args.host}: ${result.verdict === "alive" ? "ACTIVE" : "NO ACTIVITY"} (${result.reason}): ${result.line}\n`);
  } else {
    deps.stdout(`${args.host}: CANNOT JUDGE (${result.cause}): ${result.reason}\n`);
  }
  return result.decided ? EXIT_FOR_VERDICT[result.verdict] : 2;
}

function printScan(outcome: ScanOutcome, args: { readonly mount: string; readonly maxAgeMs: number; readonly json: boolean }, deps: RunDeps): number {
  if (!outcome.ok) {
    deps.stderr(`hb: ${outcome.message}\n`);
    return 2;
  }
  const { heartbeats, ignored, skipped, durationMs } = outcome.scan;
  const dead = heartbeats.filter((heartbeat) => heartbeat.verdict === "dead").length;
  const cannotJudge = heartbeats.filter((heartbeat) => heartbeat.verdict === "undecided").length;
  // Planted there, never written by a host: a warning, not a host hb cannot judge.
  if (skipped.length > 0) deps.stderr(`hb: warning: ${describeSkipped(skipped, `${args.mount}/KVMHA`)}\n`);
  if (args.json) {
    deps.stdout(`${JSON.stringify({ mount: args.mount, maxAgeSeconds: seconds(args.maxAgeMs), hosts: heartbeats.length, dead, cannotJudge, scanMs: Math.round(durationMs), heartbeats, ignored, skipped }, null, 2)}\n`);
  } else {
    const width = Math.max(4, ...heartbeats.map((heartbeat) => heartbeat.host.length));
    const lines = heartbeats.map((h) => {
      const age = h.ageSeconds === null ? "-" : `${h.ageSeconds} s`;
      const skew = h.writerClockOffsetSeconds !== null && Math.abs(h.writerClockOffsetSeconds) > 2 ? `  writer clock ${h.writerClockOffsetSeconds > 0 ? "+" : ""}${h.writerClockOffsetSeconds} s vs server` : "";
      return `${h.host.padEnd(width)}  ${LABEL[h.verdict].padEnd(12)}  ${age.padStart(9)}  ${h.reason}${h.record === null ? "" : `  seq ${h.record.seq}`}${skew}`;
    });
    const unjudged = cannotJudge > 0 ? `, ${cannotJudge} cannot be judged` : "";
    deps.stdout(
      `${[`${"host".padEnd(width)}  ${"state".padEnd(12)}  ${"age".padStart(9)}  reason`, ...lines].join("\n")}\n${heartbeats.length} host(s), ${dead} DEAD${unjudged} (max age ${seconds(args.maxAgeMs)} s), read in ${Math.round(durationMs)} ms${ignored.length > 0 ? `; ignored: ${ignored.map(printable).join(", ")}` : ""}\n`,
    );
  }
  // DEAD is evidence and comes first; otherwise a host hb cannot judge makes the answer incomplete.
  return dead > 0 ? 1 : cannotJudge > 0 ? 2 : 0;
}

/** Most names a warning lists; the count covers the rest. */
const SKIPPED_NAMES_SHOWN = 10;

/**
 * One line: how many entries the scan left alone, and what each is (the first few, by name, made
 * printable: a planted name can neither start a line of its own nor send escapes).
 */
export function describeSkipped(skipped: readonly ScanSkippedEntry[], folder: string): string {
  const shown = skipped.slice(0, SKIPPED_NAMES_SHOWN).map((entry) => `${printable(entry.name)} (${entry.kind})`);
  const more = skipped.length > SKIPPED_NAMES_SHOWN ? `, and ${skipped.length - SKIPPED_NAMES_SHOWN} more` : "";
  const what = skipped.length === 1 ? "entry of FOLDER that is not a regular file" : `${skipped.length} entries of FOLDER that are not regular files`;
  return `skipped ${what.replace("FOLDER", folder)}, left alone: ${shown.join(", ")}${more}`;
}
