import { describeZodIssue } from "@hb/config";
import * as z from "zod/mini";
import { DrbdOutputError } from "./errors.js";
import { optional } from "./optional.js";

const FORMAT = "drbdsetup show --show-defaults --json";

/** The options of one connection (its `net` section) that matter for fencing. */
export interface DrbdConnectionOptions {
  /** The peer's node name (`net._name`). */
  readonly peer?: string;
  readonly peerNodeId?: number;
  readonly allowTwoPrimaries?: boolean;
  readonly fencing?: string;
}

/** The options of one resource that decide what happens to its writers when it loses quorum. */
export interface DrbdResourceOptions {
  readonly name: string;
  /** off, majority, all, or a number of nodes. */
  readonly quorum?: string;
  /** io-error or suspend-io. */
  readonly onNoQuorum?: string;
  /** io-error or suspend-io. */
  readonly onNoDataAccessible?: string;
  readonly onSuspendedPrimaryOutdated?: string;
  /** Some connection allows two primaries (dual-Primary, as during a live migration). */
  readonly allowTwoPrimaries: boolean;
  readonly connections: readonly DrbdConnectionOptions[];
}

// drbdsetup prints booleans as true/false and every other value as a string; accept yes/no too.
const bool = z.union([z.boolean(), z.pipe(z.enum(["yes", "no"]), z.transform((value: "yes" | "no") => value === "yes"))]);
const text = z.union([z.string(), z.pipe(z.number(), z.transform(String))]);

const ConnectionShow = z.object({
  _peer_node_id: z.optional(z.number().check(z.int(), z.nonnegative())),
  net: z.optional(
    z.object({
      _name: z.optional(z.string()),
      "allow-two-primaries": z.optional(bool),
      fencing: z.optional(text),
    }),
  ),
});
const ResourceShow = z.object({
  resource: z.string().check(z.minLength(1)),
  options: z.optional(
    z.object({
      quorum: z.optional(text),
      "on-no-quorum": z.optional(text),
      "on-no-data-accessible": z.optional(text),
      "on-suspended-primary-outdated": z.optional(text),
    }),
  ),
  connections: z.optional(z.array(ConnectionShow)),
});

/** Reads `drbdsetup show --show-defaults --json`; unknown options are ignored. */
export function parseShowJson(output: string): DrbdResourceOptions[] {
  if (output.trim() === "") throw new DrbdOutputError(FORMAT, "no output");
  let raw: unknown;
  try {
    raw = JSON.parse(output);
  } catch (error) {
    throw new DrbdOutputError(FORMAT, `not JSON (${(error as Error).message})`, { cause: error });
  }
  if (!Array.isArray(raw)) throw new DrbdOutputError(FORMAT, "not a JSON array of resources");
  return raw.map((entry: unknown, index) => {
    const parsed = ResourceShow.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.map(String).join(".") || "entry";
      throw new DrbdOutputError(FORMAT, `resource #${index + 1}: ${where}: ${describeZodIssue(issue)}`);
    }
    const { resource, options = {}, connections = [] } = parsed.data;
    const connectionOptions = connections.map(
      (connection): DrbdConnectionOptions => ({
        ...optional("peer", connection.net?._name),
        ...optional("peerNodeId", connection._peer_node_id),
        ...optional("allowTwoPrimaries", connection.net?.["allow-two-primaries"]),
        ...optional("fencing", connection.net?.fencing),
      }),
    );
    return {
      name: resource,
      ...optional("quorum", options.quorum),
      ...optional("onNoQuorum", options["on-no-quorum"]),
      ...optional("onNoDataAccessible", options["on-no-data-accessible"]),
      ...optional("onSuspendedPrimaryOutdated", options["on-suspended-primary-outdated"]),
      allowTwoPrimaries: connectionOptions.some((connection) => connection.allowTwoPrimaries === true),
      connections: connectionOptions,
    };
  });
}
