import { join } from "node:path";

/** hbd's control socket in its state directory (root's, mode 0600, in a folder only root writes). */
export function controlSocketPath(stateDir: string): string {
  return join(stateDir, "hbd.sock");
}

/** hbd's pid file in its state directory: its pid, then its boot id. */
export function pidFilePath(stateDir: string): string {
  return join(stateDir, "hbd.pid");
}
