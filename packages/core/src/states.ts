/**
 * States of one heartbeat target (DESIGN rule 5). Slow and degraded never fence; failing and
 * no-quorum spend the round's budget; dead is the budget spent, where a decision is made.
 * Inconclusive: hb could not check for its own reasons (rule 11); it spends no budget and never
 * fences by itself.
 */
export const TARGET_STATES = ["healthy", "degraded", "slow", "failing", "no-quorum", "inconclusive", "dead"] as const;
export type TargetState = (typeof TARGET_STATES)[number];

/** Whether a state counts against the round's attempt budget. */
export function spendsBudget(state: TargetState): boolean {
  return state === "failing" || state === "no-quorum" || state === "dead";
}
