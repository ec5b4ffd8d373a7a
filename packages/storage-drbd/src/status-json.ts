import { describeZodIssue } from "@hb/config";
import * as z from "zod/mini";
import { DrbdOutputError } from "./errors.js";
import { optional } from "./optional.js";
import type { DrbdConnection, DrbdDevice, DrbdPeerDevice, DrbdResourceState, DrbdSnapshot } from "./model.js";

const FORMAT = "drbdsetup status --json";

const count = z.number().check(z.int(), z.nonnegative());
const name = z.string().check(z.minLength(1));

// Unknown keys are stripped: newer drbd-utils add fields (open, tls, paths, suspended-*).
const PeerDeviceJson = z.object({
  volume: count,
  "replication-state": name,
  "peer-disk-state": name,
  "peer-client": z.optional(z.boolean()),
  // A string (no, user, peer, dependency, or a comma list), not a boolean.
  "resync-suspended": z.optional(z.string()),
  "out-of-sync": z.optional(z.number().check(z.nonnegative())),
  // Floats such as 99.8 or 37.50.
  "percent-resync-done": z.optional(z.number()),
});
const ConnectionJson = z.object({
  "peer-node-id": z.optional(count),
  name,
  "connection-state": name,
  congested: z.optional(z.boolean()),
  "peer-role": z.optional(z.string()),
  "ap-in-flight": z.optional(z.number().check(z.nonnegative())),
  // Empty, or (some consumers have met this) absent, for a peer that is not connected.
  peer_devices: z.optional(z.array(PeerDeviceJson)),
});
const DeviceJson = z.object({
  volume: count,
  minor: z.optional(count),
  "disk-state": name,
  client: z.optional(z.boolean()),
  quorum: z.optional(z.boolean()),
  open: z.optional(z.boolean()),
});
const SUSPEND_FLAGS = [
  ["suspended-user", "user"],
  ["suspended-no-data", "no-data"],
  ["suspended-fencing", "fencing"],
  ["suspended-quorum", "quorum"],
] as const;
const ResourceJson = z.object({
  name,
  role: name,
  suspended: z.boolean(),
  "suspended-user": z.optional(z.boolean()),
  "suspended-no-data": z.optional(z.boolean()),
  "suspended-fencing": z.optional(z.boolean()),
  "suspended-quorum": z.optional(z.boolean()),
  "force-io-failures": z.optional(z.boolean()),
  devices: z.array(DeviceJson),
  connections: z.array(ConnectionJson),
});
const StatusJson = z.array(z.unknown());

/**
 * Reads `drbdsetup status --json` of old and new drbd-utils (with or without the
 * `suspended-*` breakdown, `open`, `tls`, `paths`). Not JSON, not an array of resources, or
 * a resource without a required field is a {@link DrbdOutputError} naming the resource and field.
 */
export function parseStatusJson(text: string): DrbdSnapshot {
  if (text.trim() === "") throw new DrbdOutputError(FORMAT, "no output");
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new DrbdOutputError(FORMAT, `not JSON (${(error as Error).message})`, { cause: error });
  }
  const list = StatusJson.safeParse(raw);
  if (!list.success) throw new DrbdOutputError(FORMAT, "not a JSON array of resources");
  const resources = list.data.map((entry, index) => {
    const parsed = ResourceJson.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const label = typeof (entry as { name?: unknown } | null)?.name === "string" ? `resource ${(entry as { name: string }).name}` : `resource #${index + 1}`;
      const where = issue === undefined ? "" : issue.path.map((part) => (typeof part === "number" ? `[${part}]` : `.${String(part)}`)).join("");
      throw new DrbdOutputError(FORMAT, `${label}: ${where.replace(/^\./, "") || "entry"}: ${describeZodIssue(issue)}`);
    }
    return toResource(parsed.data);
  });
  return { source: "status-json", resources };
}

function toResource(json: z.output<typeof ResourceJson>): DrbdResourceState {
  const reported = SUSPEND_FLAGS.some(([key]) => json[key] !== undefined);
  const reasons = SUSPEND_FLAGS.filter(([key]) => json[key] === true).map(([, reason]) => reason);
  return {
    name: json.name,
    role: json.role,
    suspended: json.suspended,
    // Older drbd-utils print only `suspended`: the reason is then unknown, not "none".
    ...optional("suspendedReasons", reported || !json.suspended ? reasons : undefined),
    ...optional("forceIoFailures", json["force-io-failures"]),
    devices: json.devices.map(
      (device): DrbdDevice => ({
        volume: device.volume,
        disk: device["disk-state"],
        ...optional("minor", device.minor),
        ...optional("client", device.client),
        ...optional("quorum", device.quorum),
        ...optional("open", device.open),
      }),
    ),
    connections: json.connections.map(
      (connection): DrbdConnection => ({
        name: connection.name,
        state: connection["connection-state"],
        peerDevices: (connection.peer_devices ?? []).map(
          (peer): DrbdPeerDevice => ({
            volume: peer.volume,
            replication: peer["replication-state"],
            peerDisk: peer["peer-disk-state"],
            ...optional("peerClient", peer["peer-client"]),
            ...optional("resyncSuspended", peer["resync-suspended"]),
            ...optional("resyncDonePercent", peer["percent-resync-done"]),
            ...optional("outOfSyncKiB", peer["out-of-sync"]),
          }),
        ),
        ...optional("peerNodeId", connection["peer-node-id"]),
        ...optional("peerRole", connection["peer-role"]),
        ...optional("congested", connection.congested),
        ...optional("apInFlightKiB", connection["ap-in-flight"]),
      }),
    ),
  };
}
