import type { core } from "zod/mini";
import * as z from "zod/mini";

/**
 * A field as hbd sends it, read defensively. Its input type is `schema`'s, what hbd must
 * produce; a reader gets `fallback` for a value that is missing or of another type (an older or
 * newer hbd, or a stranger on the status port), never an error. A function fallback sees the
 * value that was refused, so that "missing" and "unreadable" can read differently.
 */
export function lenient<T extends z.ZodMiniType, F>(schema: T, fallback: F | ((value: unknown) => F)): z.ZodMiniType<z.output<T> | F, z.input<T>> {
  const value = typeof fallback === "function" ? (ctx: core.$ZodCatchCtx) => (fallback as (value: unknown) => F)(ctx.value) : () => fallback;
  // The fallback is outside `schema`'s output on purpose: the cast widens the output type to say so.
  return z.catch(schema, value as never) as unknown as z.ZodMiniType<z.output<T> | F, z.input<T>>;
}

/** Text, or null when it is not text. */
export const text = lenient(z.string(), null);
/** Text that hbd may send as null, or null when it is not text. */
export const nullableText = lenient(z.nullable(z.string()), null);
/** A number, or null when it is not a (finite) number. */
export const count = lenient(z.number(), null);
/** A number hbd may send as null, or null. */
export const nullableCount = lenient(z.nullable(z.number()), null);
/** true, false, or null when it is neither. */
export const flag = lenient(z.boolean(), null);
