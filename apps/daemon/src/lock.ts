import { closeSync, mkdirSync, openSync, unlinkSync, writeSync } from "node:fs";
import { HbError } from "@hb/config";
import { readLocalFileSync } from "@hb/config/files";
import { pidFilePath } from "@hb/protocol";

export class AlreadyRunningError extends HbError {
  constructor(message: string) {
    super("ALREADY_RUNNING", message);
  }
}

export interface LockHolderCheck {
  /** Whether `pid` is a live hbd (its command line), not just any live process. */
  isHbd(pid: number): boolean;
  /** This boot's id (/proc/sys/kernel/random/boot_id); null when unknown. */
  readonly bootId: string | null;
}

/** The lock, or why there is none: hbd runs either way (a folder it cannot write must not stop protection). */
export type StateDirLock = { readonly held: true; release(): void } | { readonly held: false; readonly problem: string };

/**
 * One hbd per state directory: `hbd.pid` (pid and boot id) created exclusively. A pid file is
 * stale unless it names a live hbd of this boot: after a reboot the pid is usually some other
 * process. A folder that cannot hold the file (read-only, full) gives no lock and a reason,
 * never an empty pid file. Synchronous: it runs once at start-up, on local disk. The file is
 * created with O_EXCL and read without following links, as a regular file only: a FIFO planted
 * there would block the read forever, and a link could name another hbd's pid file.
 */
export function acquireStateDirLock(stateDir: string, pid: number, holder: LockHolderCheck): StateDirLock {
  const path = pidFilePath(stateDir);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    return { held: false, problem: `cannot create ${stateDir}: ${errorCode(error)}` };
  }
  const content = `${pid}\n${holder.bootId ?? ""}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, "wx", 0o600);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== "EEXIST") return { held: false, problem: `cannot create ${path}: ${errorCode(error)}` };
      const stale = staleReason(path, pid, holder);
      if (typeof stale === "number") {
        throw new AlreadyRunningError(`another hbd (${stale}) runs on ${stateDir}; refusing to start a second one`);
      }
      try {
        unlinkSync(path);
      } catch (unlinkError) {
        return { held: false, problem: `${path} is stale (${stale}) but cannot be removed: ${errorCode(unlinkError)}` };
      }
      continue;
    }
    try {
      if (writeSync(fd, content) !== Buffer.byteLength(content)) throw Object.assign(new Error("short write"), { code: "ENOSPC" });
      closeSync(fd);
    } catch (error) {
      // A full folder: never leave an empty pid file behind for the next start to trip on.
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
      try {
        unlinkSync(path);
      } catch {
        // nothing more to do
      }
      return { held: false, problem: `cannot write ${path}: ${errorCode(error)}` };
    }
    return {
      held: true,
      release: () => {
        try {
          if (readPidFile(path).split("\n")[0]?.trim() === String(pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      },
    };
  }
  throw new AlreadyRunningError(`cannot take ${path}`);
}

// A pid and a boot id; anything longer is not hbd's.
const PID_FILE_MAX_BYTES = 256;

function readPidFile(path: string): string {
  return readLocalFileSync(path, { maxBytes: PID_FILE_MAX_BYTES }).toString("utf8");
}

/** Why the pid file names no running hbd of this boot, or the pid of the hbd it names. */
function staleReason(path: string, pid: number, holder: LockHolderCheck): string | number {
  let text: string;
  try {
    text = readPidFile(path);
  } catch (error) {
    return `unreadable: ${(error as Error).message}`;
  }
  const [pidLine = "", bootLine = ""] = text.split("\n");
  const other = Number(pidLine.trim());
  if (!Number.isInteger(other) || other <= 0) return "no pid in it";
  if (other === pid) return "our own pid";
  const boot = bootLine.trim();
  if (boot !== "" && holder.bootId !== null && boot !== holder.bootId) return "written in an earlier boot";
  if (!holder.isHbd(other)) return `pid ${other} is not a running hbd`;
  return other;
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}
