import { readLocalFileSync } from "@hb/config/files";
import { networkInterfaces } from "node:os";

/** Where the kernel keeps this boot's id. */
export const BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id";

// A boot id is 36 characters and a newline; anything longer is not one.
const BOOT_ID_MAX_BYTES = 64;

/**
 * The kernel's boot id, so a record can tell a reboot from a stall; null when it cannot be read.
 * Synchronous: procfs is local, never the libuv pool's business. A regular file only (procfs
 * files are), so a FIFO or device given in its place cannot block or flood the reader.
 */
export function readBootId(file: string = BOOT_ID_FILE): string | null {
  try {
    const id = readLocalFileSync(file, { maxBytes: BOOT_ID_MAX_BYTES }).toString("latin1").trim();
    return id === "" ? null : id;
  } catch {
    return null;
  }
}

/** IPv4 address of a network device (private.network.device), as the agent takes it. */
export function ipv4AddressOf(device: string): string | undefined {
  return networkInterfaces()[device]?.find((address) => address.family === "IPv4")?.address;
}
