export { TARGET_STATES, spendsBudget, type TargetState } from "./states.js";
