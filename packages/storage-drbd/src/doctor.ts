import type { DrbdResourceOptions } from "./show-json.js";

/** One finding of `hb drbd doctor`: a warning is unsafe, a note explains a trade-off. */
export interface DoctorFinding {
  readonly resource: string;
  readonly level: "warning" | "note";
  readonly option: string;
  readonly value: string;
  readonly text: string;
}

/** What the two quorum-loss policies do to the VMs on a KVM host, and to hb. */
export const IO_ERROR_VS_SUSPEND_IO = [
  "io-error: a Primary that loses quorum fails its writes at once. VMs see I/O errors; guest",
  "  filesystems usually remount read-only and need a reboot. hb's attempts fail fast (lost).",
  "suspend-io: a Primary that loses quorum freezes its I/O. VMs hang; a write to the volume, even",
  "  a heartbeat, blocks until quorum returns, which hb cuts at heartbeat.update.timeout. If quorum",
  "  comes back, the VMs resume; with on-suspended-primary-outdated force-secondary a frozen Primary",
  "  steps down when it rejoins a newer Primary. LINBIT recommends suspend-io for VM platforms.",
  "Set on-no-data-accessible to the same value as on-no-quorum.",
].join("\n");

/**
 * Unsafe option combinations, checked the way drbd-reactor's promoter does: quorum off (no
 * block-layer guarantee that a cut-off Primary stops writing) and on-no-quorum differing from
 * on-no-data-accessible. Trade-offs (io-error, suspend-io, dual-Primary) are notes.
 */
export function checkResourceOptions(resources: readonly DrbdResourceOptions[]): DoctorFinding[] {
  const findings: DoctorFinding[] = [];
  for (const resource of resources) {
    const add = (finding: Omit<DoctorFinding, "resource">) => findings.push({ resource: resource.name, ...finding });
    if (resource.quorum === undefined) {
      add({ level: "warning", option: "quorum", value: "(not shown)", text: "quorum is not reported: hb cannot tell whether DRBD stops a cut-off Primary from writing" });
    } else if (resource.quorum === "off") {
      add({
        level: "warning",
        option: "quorum",
        value: "off",
        text: "quorum off: a Primary cut off from its peers keeps writing (split brain possible), and hb cannot tell contention from loss on this resource",
      });
    }
    const noQuorum = resource.onNoQuorum;
    const noData = resource.onNoDataAccessible;
    if (noQuorum !== undefined && noData !== undefined && noQuorum !== noData) {
      add({
        level: "warning",
        option: "on-no-data-accessible",
        value: noData,
        text: `on-no-quorum ${noQuorum} but on-no-data-accessible ${noData}: set both to the same value, or a loss of data and a loss of quorum treat the VMs differently`,
      });
    }
    if (resource.quorum !== undefined && resource.quorum !== "off" && noQuorum === "io-error") {
      add({ level: "note", option: "on-no-quorum", value: noQuorum, text: "on quorum loss the VMs get I/O errors (guest filesystems go read-only)" });
    }
    if (resource.quorum !== undefined && resource.quorum !== "off" && noQuorum === "suspend-io") {
      const stepDown =
        resource.onSuspendedPrimaryOutdated === "force-secondary" ? "" : "; on-suspended-primary-outdated force-secondary lets a frozen Primary step down when it rejoins";
      add({ level: "note", option: "on-no-quorum", value: noQuorum, text: `on quorum loss the VMs freeze until quorum returns${stepDown}` });
    }
    for (const connection of resource.connections) {
      if (connection.allowTwoPrimaries !== true) continue;
      add({
        level: "note",
        option: "allow-two-primaries",
        value: "yes",
        text: `dual-Primary allowed on the connection to ${connection.peer ?? `node-id ${connection.peerNodeId ?? "?"}`}: expected only during a live migration`,
      });
    }
  }
  return findings;
}
