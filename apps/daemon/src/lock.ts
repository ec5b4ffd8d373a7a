import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { HbError } from "@hb/config";

export class AlreadyRunningError extends HbError {
  constructor(message: string) {
    super("ALREADY_RUNNING", message);
  }
}

/**
 * One hbd per state directory: `hbd.pid` created exclusively. A pid file whose process is
 * gone is stale and taken over. Synchronous: it runs once at start-up, on local disk.
 */
export function acquireStateDirLock(stateDir: string, pid: number, isAlive: (pid: number) => boolean): () => void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, "hbd.pid");
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx", 0o600);
      writeSync(fd, `${pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8").trim() === String(pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== pid && isAlive(holder)) {
        throw new AlreadyRunningError(`another hbd (pid ${holder}) runs on ${stateDir}; refusing to start a second one`);
      }
      unlinkSync(path);
    }
  }
  throw new AlreadyRunningError(`cannot take ${path}`);
}
