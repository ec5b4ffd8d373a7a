import { Properties } from "properties-file/parser";
import { PropertiesSyntaxError } from "./errors.js";

/** One key as java.util.Properties ends up with it: the last occurrence wins. */
export interface PropertyEntry {
  readonly key: string;
  readonly value: string;
  /** 1-based physical line where the winning occurrence starts. */
  readonly line: number;
  /** 1-based physical line where it ends (continuation lines). */
  readonly endLine: number;
  /** How many times the key occurs in the file. */
  readonly occurrences: number;
}

export interface PropertiesDocument {
  /** The decoded text (ISO-8859-1, as Properties.load(InputStream) reads it). */
  readonly text: string;
  readonly entries: ReadonlyMap<string, PropertyEntry>;
  get(key: string): PropertyEntry | undefined;
}

/**
 * Decode file bytes the way the agent does: Properties.load(InputStream) reads ISO-8859-1,
 * so every byte is one character and nothing is ever a decoding error.
 */
export function decodePropertiesBytes(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** Parse text with java.util.Properties semantics. Throws PropertiesSyntaxError where Java throws. */
export function parseProperties(text: string): PropertiesDocument {
  let parsed: Properties;
  try {
    // A leading U+FEFF cannot come out of ISO-8859-1 decoding, so the library's BOM skip never
    // fires on file input, as in Java.
    parsed = new Properties(text);
  } catch (error) {
    const line = findMalformedUnicodeEscapeLine(text);
    throw new PropertiesSyntaxError(
      `line ${line}: ${error instanceof Error ? error.message : String(error)} (java.util.Properties rejects the whole file)`,
      line,
      { cause: error },
    );
  }
  const entries = new Map<string, PropertyEntry>();
  for (const node of parsed.getProperties()) {
    const previous = entries.get(node.key);
    entries.set(node.key, {
      key: node.key,
      value: node.value,
      line: node.startingLineNumber,
      endLine: node.endingLineNumber,
      occurrences: (previous?.occurrences ?? 0) + 1,
    });
  }
  return { text, entries, get: (key) => entries.get(key) };
}

// The parser reports the bad escape but not where it is; find the first non-comment line
// with a `\u` (preceded by an even run of backslashes) not followed by four hex digits.
function findMalformedUnicodeEscapeLine(text: string): number {
  const lines = text.split(/\r\n|\r|\n/);
  for (const [index, line] of lines.entries()) {
    if (/^[ \t\f]*[#!]/.test(line)) continue;
    if (/(?:^|[^\\])(?:\\\\)*\\u(?![0-9a-fA-F]{4})/.test(line)) return index + 1;
  }
  return 1;
}
