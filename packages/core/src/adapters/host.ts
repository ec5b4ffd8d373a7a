import { readFileSync } from "node:fs";
import { networkInterfaces } from "node:os";

/** Where the kernel keeps this boot's id. */
export const BOOT_ID_FILE = "/proc/sys/kernel/random/boot_id";

/**
 * The kernel's boot id, so a record can tell a reboot from a stall; null when it cannot be read.
 * Synchronous: procfs is local, never the libuv pool's business.
 */
export function readBootId(file: string = BOOT_ID_FILE): string | null {
  try {
    const id = readFileSync(file, "latin1").trim();
    return id === "" ? null : id;
  } catch {
    return null;
  }
}

/** IPv4 address of a network device (private.network.device), as the agent takes it. */
export function ipv4AddressOf(device: string): string | undefined {
  return networkInterfaces()[device]?.find((address) => address.family === "IPv4")?.address;
}
