import type { HeartbeatConfig } from "./schema.js";

/**
 * This host's id in heartbeat file names: `hb.host.ip`, else the IPv4 address of
 * `private.network.device` (looked up by the caller: an environment fact, not configuration).
 */
export function hostIdOf(config: HeartbeatConfig, addressOf: (device: string) => string | undefined): string | undefined {
  const declared = config["hb.host.ip"];
  if (declared !== null) return declared;
  const device = config["private.network.device"];
  return device === null ? undefined : addressOf(device);
}
