import { describeZodIssue } from "@hb/config";
import * as z from "zod/mini";
import { DrbdOutputError } from "./errors.js";
import { optional } from "./optional.js";
import { eventBool, type DrbdConnection, type DrbdDevice, type DrbdPeerDevice, type DrbdResourceState, type DrbdSnapshot } from "./model.js";

const FORMAT = "drbdsetup events2 --now";

/**
 * Fields of one `drbdsetup events2` line after its verb and object: `key:value` tokens split
 * on the first colon (values such as `local:ipv4:10.0.0.1:7000` hold more colons).
 * Tokens without a colon are ignored rather than guessed at.
 */
export function splitEventFields(tokens: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const token of tokens) {
    const colon = token.indexOf(":");
    if (colon <= 0) continue;
    fields.set(token.slice(0, colon), token.slice(colon + 1));
  }
  return fields;
}

const VERBS = new Set(["exists", "create", "change", "destroy", "call", "response", "rename"]);
// `--timestamps` prefixes each line with the local time, e.g. 2026-11-26T18:00:00.123456+00:00.
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?$/;

const word = z.string().check(z.minLength(1, "empty"));
const numberFrom = (pattern: RegExp, message: string) => z.pipe(z.string().check(z.regex(pattern, message)), z.transform(Number));
const whole = numberFrom(/^\d+$/, "not a whole number");
const integer = numberFrom(/^-?\d+$/, "not an integer");
const percent = numberFrom(/^\d+(\.\d+)?$/, "not a percentage");
const flag = z.pipe(word, z.transform(eventBool));
// client/open print "unknown" when the kernel does not say.
const maybeFlag = z.pipe(word, z.transform((value: string) => (value === "unknown" ? undefined : eventBool(value))));

// Only the keys hb reads are listed: unknown keys (later drbd-utils, statistics) are dropped.
const ResourceLine = z.object({
  name: word,
  role: word,
  suspended: word,
  "force-io-failures": z.optional(flag),
  may_promote: z.optional(flag),
  promotion_score: z.optional(integer),
});
const ConnectionLine = z.object({
  name: word,
  "peer-node-id": z.optional(whole),
  "conn-name": word,
  connection: word,
  role: z.optional(word),
  congested: z.optional(flag),
  "ap-in-flight": z.optional(whole),
  "sync-state": z.optional(word),
});
const DeviceLine = z.object({
  name: word,
  volume: whole,
  minor: z.optional(whole),
  disk: word,
  client: z.optional(maybeFlag),
  quorum: z.optional(flag),
  open: z.optional(maybeFlag),
  blocked: z.optional(word),
});
const PeerDeviceLine = z.object({
  name: word,
  "peer-node-id": z.optional(whole),
  "conn-name": word,
  volume: whole,
  replication: word,
  "peer-disk": word,
  "peer-client": z.optional(maybeFlag),
  "resync-suspended": z.optional(word),
  done: z.optional(percent),
  "out-of-sync": z.optional(whole),
});

interface Located<T> {
  readonly line: number;
  readonly value: T;
}

function parseLine<S extends z.ZodMiniType>(schema: S, fields: Map<string, string>, object: string, line: number): z.output<S> {
  const parsed = schema.safeParse(Object.fromEntries(fields));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? "?");
  const raw = fields.get(key);
  const what = raw === undefined ? `no ${key}: field` : `${key}:${raw} is ${describeZodIssue(issue)}`;
  throw new DrbdOutputError(FORMAT, `line ${line}: ${object} line with ${what}`, { line });
}

/**
 * Reads the state dump of `drbdsetup events2 --now [--statistics] [--timestamps]`: the
 * `exists` lines up to `exists -`. Unknown keys and objects are ignored (newer drbd-utils
 * add them); a line that is not an events2 line, a missing required field, a child line
 * without its resource, or a dump without its `exists -` end is a {@link DrbdOutputError}.
 */
export function parseEvents2(text: string): DrbdSnapshot {
  const resources: Located<z.output<typeof ResourceLine>>[] = [];
  const connections: Located<z.output<typeof ConnectionLine>>[] = [];
  const devices: Located<z.output<typeof DeviceLine>>[] = [];
  const peerDevices: Located<z.output<typeof PeerDeviceLine>>[] = [];
  let ended = false;

  const lines = text.split("\n");
  for (let index = 0; index < lines.length && !ended; index++) {
    const line = index + 1;
    const trimmed = (lines[index] ?? "").trim();
    if (trimmed === "") continue;
    let tokens = trimmed.split(/\s+/);
    if (TIMESTAMP.test(tokens[0] ?? "")) tokens = tokens.slice(1);
    const [verb = "", object, ...rest] = tokens;
    if (!VERBS.has(verb) || object === undefined) {
      const shown = trimmed.length > 80 ? `${trimmed.slice(0, 80)}…` : trimmed;
      throw new DrbdOutputError(FORMAT, `line ${line} is not an events2 line: ${JSON.stringify(shown)}`, { line });
    }
    if (verb === "exists" && object === "-") {
      ended = true;
      continue;
    }
    // The dump is made of `exists` lines; anything else would be a later change.
    if (verb !== "exists") continue;
    const fields = splitEventFields(rest);
    switch (object) {
      case "resource":
        resources.push({ line, value: parseLine(ResourceLine, fields, object, line) });
        break;
      case "connection":
        connections.push({ line, value: parseLine(ConnectionLine, fields, object, line) });
        break;
      case "device":
        devices.push({ line, value: parseLine(DeviceLine, fields, object, line) });
        break;
      case "peer-device":
        peerDevices.push({ line, value: parseLine(PeerDeviceLine, fields, object, line) });
        break;
      default:
        // path, helper, and objects of later drbd-utils: not needed for a verdict.
        break;
    }
  }
  if (!ended) throw new DrbdOutputError(FORMAT, "no `exists -` line: the state dump is incomplete");
  return { source: "events2", resources: assemble(resources, connections, devices, peerDevices) };
}

function assemble(
  resourceLines: readonly Located<z.output<typeof ResourceLine>>[],
  connectionLines: readonly Located<z.output<typeof ConnectionLine>>[],
  deviceLines: readonly Located<z.output<typeof DeviceLine>>[],
  peerDeviceLines: readonly Located<z.output<typeof PeerDeviceLine>>[],
): DrbdResourceState[] {
  interface Building {
    readonly line: z.output<typeof ResourceLine>;
    readonly devices: DrbdDevice[];
    readonly connections: Map<string, { readonly line: z.output<typeof ConnectionLine>; readonly peerDevices: DrbdPeerDevice[] }>;
  }
  const byName = new Map<string, Building>();
  for (const { line, value } of resourceLines) {
    if (byName.has(value.name)) throw new DrbdOutputError(FORMAT, `line ${line}: resource ${value.name} is listed twice`, { line });
    byName.set(value.name, { line: value, devices: [], connections: new Map() });
  }
  const resourceOf = (name: string, object: string, line: number): Building => {
    const found = byName.get(name);
    if (found === undefined) throw new DrbdOutputError(FORMAT, `line ${line}: ${object} line for resource ${name}, which has no resource line`, { line });
    return found;
  };
  for (const { line, value } of connectionLines) {
    resourceOf(value.name, "connection", line).connections.set(value["conn-name"], { line: value, peerDevices: [] });
  }
  for (const { line, value } of deviceLines) {
    resourceOf(value.name, "device", line).devices.push({
      volume: value.volume,
      disk: value.disk,
      ...optional("minor", value.minor),
      ...optional("client", value.client),
      ...optional("quorum", value.quorum),
      ...optional("open", value.open),
      ...optional("blocked", value.blocked),
    });
  }
  for (const { line, value } of peerDeviceLines) {
    const connection = resourceOf(value.name, "peer-device", line).connections.get(value["conn-name"]);
    if (connection === undefined) {
      throw new DrbdOutputError(FORMAT, `line ${line}: peer-device line for ${value.name} conn-name:${value["conn-name"]}, which has no connection line`, { line });
    }
    connection.peerDevices.push({
      volume: value.volume,
      replication: value.replication,
      peerDisk: value["peer-disk"],
      ...optional("peerClient", value["peer-client"]),
      ...optional("resyncSuspended", value["resync-suspended"]),
      ...optional("resyncDonePercent", value.done),
      ...optional("outOfSyncKiB", value["out-of-sync"]),
    });
  }
  return [...byName.values()].map(({ line, devices, connections }) => {
    return {
      name: line.name,
      role: line.role,
      suspended: eventBool(line.suspended),
      ...optional("suspendedReasons", suspendedReasons(line.suspended)),
      ...optional("forceIoFailures", line["force-io-failures"]),
      ...optional("mayPromote", line.may_promote),
      ...optional("promotionScore", line.promotion_score),
      devices: devices.sort((a, b) => a.volume - b.volume),
      connections: [...connections.entries()].map(([name, { line: connection, peerDevices }]): DrbdConnection => ({
        name,
        state: connection.connection,
        peerDevices: peerDevices.sort((a, b) => a.volume - b.volume),
        ...optional("peerNodeId", connection["peer-node-id"]),
        ...optional("peerRole", connection.role),
        ...optional("congested", connection.congested),
        ...optional("apInFlightKiB", connection["ap-in-flight"]),
        ...optional("syncState", connection["sync-state"]),
      })),
    };
  });
}

/** `suspended:` lists its reasons (user, no-data, fencing, quorum); a bare yes says only that it is. */
function suspendedReasons(value: string): string[] | undefined {
  if (!eventBool(value)) return [];
  if (value === "yes" || value === "true") return undefined;
  return value.split(",").filter((reason) => reason !== "");
}
