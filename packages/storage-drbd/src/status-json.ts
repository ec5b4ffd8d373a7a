import { z } from "zod";
import { DrbdOutputError } from "./errors.js";
import { optional } from "./optional.js";
import type { DrbdConnection, DrbdDevice, DrbdPeerDevice, DrbdResourceState, DrbdSnapshot } from "./model.js";

const FORMAT = "drbdsetup status --json";

const count = z.number().int().nonnegative();
const name = z.string().min(1);

// Unknown keys are stripped: newer drbd-utils add fields (open, tls, paths, suspended-*).
const PeerDeviceJson = z.object({
  volume: count,
  "replication-state": name,
  "peer-disk-state": name,
  "peer-client": z.boolean().optional(),
  // A string (no, user, peer, dependency, or a comma list), not a boolean.
  "resync-suspended": z.string().optional(),
  "out-of-sync": z.number().nonnegative().optional(),
  // Floats such as 99.8 or 37.50.
  "percent-resync-done": z.number().optional(),
});
const ConnectionJson = z.object({
  "peer-node-id": count.optional(),
  name,
  "connection-state": name,
  congested: z.boolean().optional(),
  "peer-role": z.string().optional(),
  "ap-in-flight": z.number().nonnegative().optional(),
  // Empty, or (some consumers have met this) absent, for a peer that is not connected.
  peer_devices: z.array(PeerDeviceJson).optional(),
});
const DeviceJson = z.object({
  volume: count,
  minor: count.optional(),
  "disk-state": name,
  client: z.boolean().optional(),
  quorum: z.boolean().optional(),
  open: z.boolean().optional(),
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
  "suspended-user": z.boolean().optional(),
  "suspended-no-data": z.boolean().optional(),
  "suspended-fencing": z.boolean().optional(),
  "suspended-quorum": z.boolean().optional(),
  "force-io-failures": z.boolean().optional(),
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
      throw new DrbdOutputError(FORMAT, `${label}: ${where.replace(/^\./, "") || "entry"}: ${issue?.message ?? "invalid"}`);
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
