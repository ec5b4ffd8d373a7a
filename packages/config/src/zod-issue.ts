import type { core } from "zod/mini";

/**
 * One zod issue in words. zod/mini (chosen for start-up time) carries no message catalogue, so
 * an issue without a custom message is described from its own fields.
 */
export function describeZodIssue(issue: core.$ZodIssue | undefined): string {
  if (issue === undefined) return "invalid";
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown field(s) ${issue.keys.join(", ")}`;
    case "invalid_type":
      return `expected ${issue.expected}`;
    case "too_small":
      return issue.origin === "string" || issue.origin === "array" ? `must have at least ${String(issue.minimum)} element(s)` : `must be at least ${String(issue.minimum)}`;
    case "too_big":
      return `must be at most ${String(issue.maximum)}`;
    case "invalid_value":
      return `must be ${issue.values.map((value) => JSON.stringify(value)).join(" or ")}`;
    case "invalid_union":
      return "matches none of the accepted forms";
    default:
      return issue.message;
  }
}
