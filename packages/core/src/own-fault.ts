/**
 * errno codes that are hb's own fault, not the storage's: the process ran out of descriptors
 * (EMFILE, ENFILE), processes or threads (EAGAIN), or memory (ENOMEM). An attempt that meets one
 * of these is inconclusive, never a failed try (DESIGN rule 11).
 */
export const OWN_FAULT_CODES = ["EMFILE", "ENFILE", "EAGAIN", "ENOMEM"] as const;

export type OwnFaultCode = (typeof OWN_FAULT_CODES)[number];

export function isOwnFaultCode(code: string | null | undefined): boolean {
  return code !== null && code !== undefined && (OWN_FAULT_CODES as readonly string[]).includes(code);
}
