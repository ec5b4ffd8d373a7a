import { join } from "node:path";
import { HbError } from "@hb/config";

export class InvalidHostIdError extends HbError {
  constructor(hostId: string, reason: string) {
    super("INVALID_HOST_ID", `invalid host id ${JSON.stringify(hostId)}: ${reason}`);
  }
}

/**
 * A host id names a file on shared storage, so it must stay one path segment: an address or a
 * name, no `/`, no `..`, no control characters.
 */
export function validateHostId(hostId: string): string {
  if (hostId === "") throw new InvalidHostIdError(hostId, "empty");
  if (hostId.includes("/")) throw new InvalidHostIdError(hostId, "contains /");
  if (hostId === "." || hostId.includes("..")) throw new InvalidHostIdError(hostId, "contains ..");
  if ([...hostId].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) throw new InvalidHostIdError(hostId, "contains a control character");
  if (!/^[A-Za-z0-9.:_-]+$/.test(hostId)) throw new InvalidHostIdError(hostId, "not an address or host name");
  return hostId;
}

/** `<mount>/KVMHA/hb-<host>`: the file upstream's writers and readers use. */
export function heartbeatFilePath(mountPoint: string, hostId: string): string {
  return join(mountPoint, "KVMHA", `hb-${validateHostId(hostId)}`);
}
