// C0 and C1 controls, DEL, and the bidirectional overrides that reorder what a terminal shows.
const UNPRINTABLE = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;
const NAMED: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\u001b": "\\e" };

/**
 * Text from input (a target name, a path, an error message) made safe for a terminal line: every
 * control character shown as an escape (`\n`, `\e`, `\x07`, `\u202e`), so that it can neither
 * start a line of its own (forging a "DECISION" line) nor send escape sequences. JSON output keeps
 * the exact text instead.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (character) => NAMED[character] ?? escapeOf(character.codePointAt(0) ?? 0));
}

function escapeOf(code: number): string {
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
}
