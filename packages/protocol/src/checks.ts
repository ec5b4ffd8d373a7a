/** Why a -c entry point did not fence: its own check vetoed it, or hbd owns the decision. */
export const VETO_CHECKS = ["drbd-quorum", "storage", "hbd"] as const;
export type VetoCheck = (typeof VETO_CHECKS)[number];

/** A -c call that did not fence: vetoed by its own check, or deferred to hbd. */
export const VETO_OUTCOMES = ["vetoed", "deferred"] as const;
export type VetoOutcome = (typeof VETO_OUTCOMES)[number];
