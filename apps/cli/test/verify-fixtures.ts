// `drbdsetup show --show-defaults --json` for the DRBD fixtures, derived from the real-format
// fixture show-safe.json (LINSTOR's quorum majority with suspend-io): the resources a test
// names, with quorum switched off or allow-two-primaries on where the test says so.
import { readFileSync } from "node:fs";
import { DRBD_FIXTURES } from "@hb/testkit";

interface ShowResource {
  resource: string;
  options: Record<string, unknown>;
  connections?: { net?: Record<string, unknown> }[];
}

export interface ShowVariant {
  /** Resources whose `quorum` is `off` (DRBD's default). */
  readonly quorumOff?: readonly string[];
  /** Resources whose first connection allows two primaries (CloudStack's live migration). */
  readonly twoPrimaries?: readonly string[];
}

export function showJson(names: readonly string[] | undefined, variant: ShowVariant = {}): string {
  const all = JSON.parse(readFileSync(`${DRBD_FIXTURES}show-safe.json`, "utf8")) as ShowResource[];
  const chosen = names === undefined ? all : all.filter((resource) => names.includes(resource.resource));
  for (const resource of chosen) {
    if (variant.quorumOff?.includes(resource.resource)) resource.options.quorum = "off";
    const net = resource.connections?.[0]?.net;
    if (net !== undefined && variant.twoPrimaries?.includes(resource.resource)) net["allow-two-primaries"] = true;
  }
  return `${JSON.stringify(chosen, null, 4)}\n`;
}
