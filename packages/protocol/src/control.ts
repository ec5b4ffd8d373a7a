// hbd's control socket: one JSON request line per connection, one JSON answer line.
import * as z from "zod/mini";
import { VETO_CHECKS, VETO_OUTCOMES } from "./checks.js";
import { lenient, text } from "./lenient.js";
import { maintenanceSchema, staleConfigSchema } from "./status.js";

/** The longest request line, its newline included. */
export const MAX_REQUEST_BYTES = 4096;

/** The longest maintenance hbd grants: fencing is only ever suspended for a bounded time. */
export const MAINTENANCE_TTL_MAX_MS = 24 * 3_600_000;

// Free text from another process ends up in logs and the status page: one short printable line.
const shortText = (max: number) =>
  z.pipe(
    z.string().check(z.refine((value) => value.trim() !== "")),
    z.transform((value) => {
      const line = value.replace(/\p{Cc}+/gu, " ").trim();
      return line.length > max ? `${line.slice(0, max - 1)}…` : line;
    }),
  );

const message = (text: string) => ({ error: text });

/** A -c entry point's report that it did not fence (counted in status and metrics, nothing else). */
export const fenceVetoReportSchema = z.object({
  op: z.literal("fence-veto"),
  outcome: z.enum(VETO_OUTCOMES, message("outcome must be vetoed or deferred")),
  check: z.enum(VETO_CHECKS, message(`check must be one of ${VETO_CHECKS.join(", ")}`)),
  /** kvmheartbeat.sh or kvmspheartbeat.sh. */
  source: shortText(40),
  target: shortText(200),
  detail: shortText(300),
});

export const maintenanceOnSchema = z.object({
  op: z.literal("maintenance-on"),
  ttlMs: z.int().check(z.positive(), z.lte(MAINTENANCE_TTL_MAX_MS)),
  reason: lenient(z.pipe(z.string(), z.transform((value) => value.slice(0, 200))), "operator"),
});

export const controlRequestSchema = z.discriminatedUnion("op", [
  maintenanceOnSchema,
  z.object({ op: z.literal("maintenance-off") }),
  z.object({ op: z.literal("reload") }),
  z.object({ op: z.literal("status") }),
  fenceVetoReportSchema,
]);

/** A request as a client sends it. */
export type ControlRequest = z.input<typeof controlRequestSchema>;
/** A request as hbd takes it: free text made one short printable line, a missing reason "operator". */
export type ControlRequestTaken = z.output<typeof controlRequestSchema>;
export type FenceVetoReport = z.output<typeof fenceVetoReportSchema>;
export type ControlOp = ControlRequest["op"];

const ops = new Set<unknown>(["maintenance-on", "maintenance-off", "reload", "status", "fence-veto"]);

/** The words of hbd's refusal for a request that is not one of its own, or null when it is. */
function refusal(value: unknown): string | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return `a request is one JSON object with an op, not ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}`;
  }
  const op = (value as { op?: unknown }).op;
  return ops.has(op) ? null : `unknown op ${JSON.stringify(op) ?? "(none)"}`;
}

/** One request line checked: the request as hbd takes it, or the words of its refusal (never a guess). */
export function parseControlRequest(line: string): { readonly ok: true; readonly request: ControlRequestTaken } | { readonly ok: false; readonly error: string } {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, error: "a request is one JSON object with an op, not a line that is not JSON" };
  }
  const refused = refusal(value);
  if (refused !== null) return { ok: false, error: refused };
  const parsed = z.safeParse(controlRequestSchema, value);
  if (parsed.success) return { ok: true, request: parsed.data };
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? "");
  if (field === "ttlMs") return { ok: false, error: `ttlMs must be a whole number of ms, 1 to ${MAINTENANCE_TTL_MAX_MS}` };
  if (field === "source" || field === "target" || field === "detail") return { ok: false, error: `${field} must be a non-empty string` };
  return { ok: false, error: issue?.message ?? "refused" };
}

/** The answer line: the op's result, or why hbd refused it. */
export const controlAnswerSchema = z.discriminatedUnion("ok", [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: lenient(z.string(), null) }),
]);
export type ControlAnswerLine = z.input<typeof controlAnswerSchema>;

/** What hbd answers to maintenance-on (`{ until }`) and maintenance-off (null). */
export const maintenanceAnswerSchema = z.object({ maintenanceUntil: lenient(z.nullable(maintenanceSchema), null) });
export type MaintenanceAnswer = z.input<typeof maintenanceAnswerSchema>;

/** What hbd answers to reload: the action it runs, the configuration's problems, and whether it kept the old one. */
export const reloadAnswerSchema = z.object({ action: text, problems: lenient(z.number(), null), stale: lenient(z.nullable(staleConfigSchema), null) });
export type ReloadAnswer = z.input<typeof reloadAnswerSchema>;

/** An answer line read: the result, or hbd's refusal (null words when it gave none); null when it is not an answer line. */
export function parseControlAnswer(value: unknown): z.output<typeof controlAnswerSchema> | null {
  const parsed = z.safeParse(controlAnswerSchema, value);
  return parsed.success ? parsed.data : null;
}

/** The result of maintenance-on or -off as read: the time fencing is suspended until, or null (also for an odd answer). */
export function readMaintenanceAnswer(value: unknown): { readonly until: string | null } | null {
  const parsed = z.safeParse(maintenanceAnswerSchema, value);
  return parsed.success ? parsed.data.maintenanceUntil : null;
}
