import { describeZodIssue } from "@hb/config";
import * as z from "zod/mini";
import { LinstorQueryError } from "./errors.js";

/** A node as the LINSTOR controller lists it (`GET /v1/nodes`). */
export interface LinstorNode {
  readonly name: string;
  /** ONLINE, OFFLINE, CONNECTED, VERSION_MISMATCH, …; UNKNOWN when the controller omits it. */
  readonly connectionStatus: string;
}

/** Where the peer check asks the controller; the HTTP adapter is `HttpLinstorNodes`. */
export interface LinstorNodeSource {
  /** What is asked, for evidence and errors. */
  readonly url: string;
  /** The controller's node list, or LinstorQueryError; bounded by deadlineMs. */
  listNodes(deadlineMs: number, signal?: AbortSignal): Promise<readonly LinstorNode[]>;
}

const NodesJson = z.array(
  z.object({
    name: z.string().check(z.minLength(1)),
    connection_status: z.optional(z.string().check(z.minLength(1))),
  }),
);

/** Reads the body of `GET /v1/nodes`; anything but an array of named nodes is a LinstorQueryError. */
export function parseLinstorNodes(body: string, url: string): LinstorNode[] {
  let raw: unknown;
  try {
    raw = JSON.parse(body);
  } catch (error) {
    throw new LinstorQueryError(url, `answer is not JSON (${(error as Error).message})`, { cause: error });
  }
  const parsed = NodesJson.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new LinstorQueryError(url, `answer is not a node list (${issue?.path.map(String).join(".") || "body"}: ${describeZodIssue(issue)})`);
  }
  return parsed.data.map((node) => ({ name: node.name, connectionStatus: node.connection_status ?? "UNKNOWN" }));
}
