/**
 * Fields of one `drbdsetup events2` line after its verb and object: `key:value` tokens split
 * on the first colon (values such as `peer-node-id` or addresses may hold more colons).
 * Tokens without a colon are ignored rather than guessed at.
 */
export function splitEventFields(tokens: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (const token of tokens) {
    const colon = token.indexOf(":");
    if (colon <= 0) continue;
    fields.set(token.slice(0, colon), token.slice(colon + 1));
  }
  return fields;
}
