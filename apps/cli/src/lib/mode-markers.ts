// The host's deployment mode, from its markers: drop-in (the agent's monitor drives) or hbd-owned
// (hbd runs the loop).
import type { Clock } from "@hb/core";
import { withinDeadline } from "@hb/fence";
import { access } from "node:fs/promises";
import type { PidFileRead } from "./hbd-client.js";

/** The host's deployment mode: drop-in (the agent's monitor drives) or hbd-owned (hbd runs the loop). */
export interface ModeMarkers {
  /** `<hb.state.dir>/hbd.pid`: hbd runs, or did not stop cleanly. */
  readonly pidFile: { readonly path: string; readonly pid: number | null; readonly alive: boolean } | null;
  /** A systemd wants-link of hbd.service: hbd is meant to run at boot. */
  readonly enabledUnit: string | null;
}

export const HBD_UNIT_LINKS: readonly string[] = [
  "/etc/systemd/system/multi-user.target.wants/hbd.service",
  "/etc/systemd/system/default.target.wants/hbd.service",
];

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function pidFileMarker(pidFile: PidFileRead): ModeMarkers["pidFile"] {
  if (!pidFile.read || pidFile.text === null) return null;
  // The pid is the first line (hbd writes its boot id after it).
  const pid = Number(pidFile.text.split("\n")[0]?.trim());
  const validPid = Number.isInteger(pid) && pid > 0 ? pid : null;
  return { path: pidFile.path, pid: validPid, alive: validPid !== null && processAlive(validPid) };
}

/**
 * The markers of the hbd-owned mode: hbd.pid as read beside the control socket (by the child
 * that asked hbd: the state folder may hang), and the unit links in /etc (local, bounded anyway).
 */
export async function readModeMarkers(pidFile: PidFileRead, clock: Clock, deadlineMs: number, unitLinks: readonly string[] = HBD_UNIT_LINKS): Promise<ModeMarkers> {
  const read = async (): Promise<string | null> => {
    for (const link of unitLinks) if (await access(link).then(() => true, () => false)) return link;
    return null;
  };
  const links = await withinDeadline(clock, Math.max(0, deadlineMs), read()).catch(() => ({ done: false as const }));
  return { pidFile: pidFileMarker(pidFile), enabledUnit: links.done ? links.value : null };
}

export function hbdOwned(markers: ModeMarkers): boolean {
  return markers.pidFile !== null || markers.enabledUnit !== null;
}

export function describeMarkers(markers: ModeMarkers): string {
  const parts: string[] = [];
  if (markers.pidFile !== null) {
    const { path, pid, alive } = markers.pidFile;
    parts.push(pid === null ? `${path} exists` : alive ? `hbd runs as pid ${pid} (${path})` : `${path} names pid ${pid}, which is gone (hbd did not stop cleanly)`);
  }
  if (markers.enabledUnit !== null) parts.push(`hbd.service is enabled (${markers.enabledUnit})`);
  return parts.join("; ");
}
