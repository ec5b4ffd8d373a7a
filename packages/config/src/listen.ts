import { HbError } from "./errors.js";

// Dotted-quad IPv4 as net.isIP accepts it. `node:net` (streams, sockets) is loaded only for an IPv6
// address: every configuration load checks hb.status.listen, the agent's read path included.
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]\d|\d)$/;
const isIPv4 = (host: string): boolean => IPV4.test(host);
const isIPv6 = (host: string): boolean => process.getBuiltinModule("node:net").isIPv6(host);

/** hb.status.listen that hbd cannot bind as asked: not HOST:PORT, or not loopback without leave. */
export class StatusListenError extends HbError {
  constructor(message: string) {
    super("STATUS_LISTEN", message);
  }
}

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

// RFC 1123 host names; anything else (blanks, control characters, `_`) cannot be resolved to bind.
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Whether hbd's status endpoint on this host is reachable from this host only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || (isIPv4(host) && host.startsWith("127."));
}

/**
 * `HOST:PORT` (`[IPv6]:PORT`) of hb.status.listen, as hbd binds it; a non-loopback host only when
 * allowed (hb.status.allow.remote). Port 0 asks the kernel for a free port. One rule for hbd and
 * `hb config validate`, so that validate passes exactly where hbd can listen.
 */
export function parseStatusListen(value: string, allowRemote: boolean): ListenAddress {
  const parsed = readListen(value, allowRemote);
  if (typeof parsed === "string") throw new StatusListenError(`hb.status.listen=${value}: ${parsed}`);
  return parsed;
}

/** Why hbd cannot listen on `value`, or undefined when it can. */
export function statusListenProblem(value: string, allowRemote: boolean): string | undefined {
  const parsed = readListen(value, allowRemote);
  return typeof parsed === "string" ? parsed : undefined;
}

function readListen(value: string, allowRemote: boolean): ListenAddress | string {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(value.trim());
  const bracketed = match?.[1];
  const host = bracketed ?? match?.[2];
  const port = Number(match?.[3]);
  const hostUsable = host !== undefined && (bracketed !== undefined ? isIPv6(host) : isIPv4(host) || HOST_NAME.test(host));
  if (!hostUsable || !Number.isInteger(port) || port > 65535) return "expected HOST:PORT, e.g. 127.0.0.1:9746";
  if (!isLoopbackHost(host) && !allowRemote) return "not a loopback address; set hb.status.allow.remote=true to expose it";
  return { host, port };
}
