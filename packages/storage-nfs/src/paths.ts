import { isAbsolute, join, normalize } from "node:path";
import { HbError } from "@hb/errors";

export class InvalidHostIdError extends HbError {
  constructor(hostId: string, reason: string) {
    super("INVALID_HOST_ID", `invalid host id ${JSON.stringify(hostId)}: ${reason}`);
  }
}

export class InvalidMountPointError extends HbError {
  constructor(mountPoint: string, reason: string) {
    super("INVALID_MOUNT_POINT", `invalid mount point ${JSON.stringify(mountPoint)}: ${reason}`);
  }
}

/** Whether the text holds a control character (C0, including NUL and newline, or DEL). */
export const hasControlCharacter = (text: string): boolean => [...text].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f);

/**
 * A host id names a file on shared storage, so it must stay one path segment: an address or a
 * name, no `/`, no `..`, no control characters.
 */
export function validateHostId(hostId: string): string {
  if (hostId === "") throw new InvalidHostIdError(hostId, "empty");
  if (hostId.includes("/")) throw new InvalidHostIdError(hostId, "contains /");
  if (hostId === "." || hostId.includes("..")) throw new InvalidHostIdError(hostId, "contains ..");
  if (hasControlCharacter(hostId)) throw new InvalidHostIdError(hostId, "contains a control character");
  if (!/^[A-Za-z0-9.:_-]+$/.test(hostId)) throw new InvalidHostIdError(hostId, "not an address or host name");
  return hostId;
}

/** An absolute path without `..` or control characters; returned without a trailing slash. */
export function validateMountPoint(mountPoint: string): string {
  if (mountPoint === "") throw new InvalidMountPointError(mountPoint, "empty");
  if (!isAbsolute(mountPoint)) throw new InvalidMountPointError(mountPoint, "not an absolute path");
  if (hasControlCharacter(mountPoint)) throw new InvalidMountPointError(mountPoint, "contains a control character");
  if (mountPoint.split("/").includes("..")) throw new InvalidMountPointError(mountPoint, "contains ..");
  const normalized = normalize(mountPoint);
  return normalized.length > 1 && normalized.endsWith("/") ? normalized.slice(0, -1) : normalized;
}

/** `<mount>/KVMHA`: the folder every host of the pool writes its heartbeat into. */
export function heartbeatFolder(mountPoint: string): string {
  return join(validateMountPoint(mountPoint), "KVMHA");
}

/** `<mount>/KVMHA/hb-<host>`: the file upstream's writers and readers use. */
export function heartbeatFilePath(mountPoint: string, hostId: string): string {
  return join(mountPoint, "KVMHA", `hb-${validateHostId(hostId)}`);
}

/** `<mount>/KVMHA/hbx-<host>.json`: hb's richer record; upstream's readers never look at it. */
export function recordFilePath(mountPoint: string, hostId: string): string {
  return join(mountPoint, "KVMHA", `hbx-${validateHostId(hostId)}.json`);
}

/** `<mount>/KVMHA/ac-<host>`: kvmvmactivity.sh's memory of the last activity check. */
export function activityFilePath(mountPoint: string, hostId: string): string {
  return join(mountPoint, "KVMHA", `ac-${validateHostId(hostId)}`);
}

/**
 * The paths exactly as upstream's scripts print them in their messages: kvmheartbeat.sh builds
 * `$MountPoint/KVMHA/` + `/hb-$HostIP` (hence the `//`), kvmvmactivity.sh has single slashes.
 */
export const upstreamPaths = {
  heartbeat: (mountPoint: string, hostId: string) => `${mountPoint}/KVMHA//hb-${hostId}`,
  activityHeartbeat: (mountPoint: string, hostId: string) => `${mountPoint}/KVMHA/hb-${hostId}`,
  activity: (mountPoint: string, hostId: string) => `${mountPoint}/KVMHA/ac-${hostId}`,
};
