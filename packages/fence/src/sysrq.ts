import { closeSync, constants, openSync, writeSync } from "node:fs";

/** The keys hb writes: `s` emergency sync (queued, returns at once), `b` immediate reset. */
export type SysrqKey = "s" | "b";

/** Writes one key to the sysrq trigger, synchronously; throws when it cannot. */
export interface SysrqTrigger {
  readonly path: string;
  write(key: SysrqKey): void;
}

/**
 * The real trigger: a synchronous write on the calling thread, as `echo b > /proc/sysrq-trigger`
 * does. Never through the libuv pool, whose threads may all be stuck on the dead storage.
 * O_APPEND and no O_CREAT: a missing trigger is an error, and a test file keeps every key.
 * O_NONBLOCK: a FIFO put in the trigger's place fails at once (ENXIO) instead of blocking this
 * thread, and with it every timer of the fence, until a reader comes.
 */
export function fileSysrqTrigger(path: string): SysrqTrigger {
  return {
    path,
    write(key) {
      const fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_NONBLOCK | constants.O_NOCTTY);
      try {
        writeSync(fd, `${key}\n`);
      } finally {
        closeSync(fd);
      }
    },
  };
}
