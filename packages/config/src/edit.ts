import { Properties, type PropertyNode } from "properties-file/parser";
import { PropertyEditError } from "./errors.js";
import { parseProperties } from "./properties.js";

export interface EditResult {
  readonly text: string;
  /** Whether the text differs from the input. */
  readonly changed: boolean;
}

/**
 * Set one key, changing no other byte: the last occurrence (the one Java reads) is rewritten
 * in place, keeping its key spelling, separator and line ending; a new key is appended.
 * The result always ends with a line ending (an upstream installer once glued a key onto a
 * comment line because the template did not).
 */
export function setProperty(text: string, key: string, value: string): EditResult {
  if (key === "") throw new PropertyEditError("the key is empty");
  const lines = splitPhysicalLines(text);
  const nodes = propertyNodes(text, key);
  const last = nodes.at(-1);
  let result: string;
  if (last === undefined) {
    const base = ensureFinalEol(text, lines);
    result = `${base}${escapeKey(key)}=${escapeValue(value)}${dominantEol(lines)}`;
  } else {
    const separator = last.separatorChar === undefined && last.separatorLeading === "" ? "=" : `${last.separatorLeading}${last.separatorChar ?? ""}${last.separatorTrailing}`;
    const eol = lines[last.endingLineNumber - 1]?.eol ?? "";
    const replacement = `${last.leadingWhitespace}${last.escapedKey}${separator}${escapeValue(value)}${eol}`;
    result = ensureFinalEol(spliceLines(lines, last.startingLineNumber, last.endingLineNumber, replacement));
  }
  check(result, key, value);
  return { text: result, changed: result !== text };
}

/** Remove every occurrence of a key (removing only the last would revive an earlier one). */
export function unsetProperty(text: string, key: string): EditResult {
  const lines = splitPhysicalLines(text);
  const nodes = propertyNodes(text, key);
  let kept = lines;
  for (const node of [...nodes].reverse()) {
    kept = [...kept.slice(0, node.startingLineNumber - 1), ...kept.slice(node.endingLineNumber)];
  }
  const result = nodes.length === 0 ? text : ensureFinalEol(joinLines(kept));
  if (parseProperties(result).get(key) !== undefined) throw new PropertyEditError(`could not remove ${key}`);
  return { text: result, changed: result !== text };
}

interface PhysicalLine {
  readonly content: string;
  readonly eol: string;
}

// Each physical line keeps its own ending: files edited on several systems mix them, and
// library writers normalise them all to one.
function splitPhysicalLines(text: string): PhysicalLine[] {
  const lines: PhysicalLine[] = [];
  const pattern = /([^\r\n]*)(\r\n|\r|\n|$)/g;
  for (const match of text.matchAll(pattern)) {
    const [, content = "", eol = ""] = match;
    if (content === "" && eol === "") break;
    lines.push({ content, eol });
  }
  return lines;
}

function joinLines(lines: readonly PhysicalLine[]): string {
  return lines.map((line) => line.content + line.eol).join("");
}

function spliceLines(lines: readonly PhysicalLine[], first: number, last: number, replacement: string): string {
  return joinLines(lines.slice(0, first - 1)) + replacement + joinLines(lines.slice(last));
}

function dominantEol(lines: readonly PhysicalLine[]): string {
  const counts = new Map<string, number>();
  for (const { eol } of lines) if (eol !== "") counts.set(eol, (counts.get(eol) ?? 0) + 1);
  let best = "\n";
  let bestCount = 0;
  for (const [eol, count] of counts) if (count > bestCount) [best, bestCount] = [eol, count];
  return best;
}

function ensureFinalEol(text: string, lines = splitPhysicalLines(text)): string {
  const last = lines.at(-1);
  if (last === undefined || last.eol !== "") return text;
  const eol = dominantEol(lines);
  // A last line that ends in an odd run of backslashes continues into whatever follows;
  // a blank line ends that continuation before anything is appended.
  const continues = !/^[ \t\f]*[#!]/.test(last.content) && (/\\+$/.exec(last.content)?.[0].length ?? 0) % 2 === 1;
  return text + eol + (continues ? eol : "");
}

function propertyNodes(text: string, key: string): PropertyNode[] {
  parseProperties(text); // throws a located PropertiesSyntaxError where Java would
  return new Properties(text).getPropertyNodes(key);
}

// Java's Properties.store rules. Everything outside printable ASCII becomes \uXXXX: the file is
// ISO-8859-1 and other tools read it as UTF-8.
function escapeText(text: string, isKey: boolean): string {
  let out = "";
  for (const [index, char] of [...text].entries()) {
    const code = char.codePointAt(0) ?? 0;
    if (char === "\\") out += "\\\\";
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (char === "\f") out += "\\f";
    else if (char === " " && (isKey || index === 0)) out += "\\ ";
    else if (isKey && (char === "=" || char === ":" || ((char === "#" || char === "!") && index === 0))) out += `\\${char}`;
    else if (code < 0x20 || code > 0x7e) out += unicodeEscape(char);
    else out += char;
  }
  return out;
}

function unicodeEscape(char: string): string {
  let out = "";
  for (let i = 0; i < char.length; i++) out += `\\u${char.charCodeAt(i).toString(16).toUpperCase().padStart(4, "0")}`;
  return out;
}

export const escapeKey = (key: string): string => escapeText(key, true);
export const escapeValue = (value: string): string => escapeText(value, false);

// The edit is read back with the same parser: a key that does not come out as written is a bug
// to report, never a file to write.
function check(text: string, key: string, value: string): void {
  const read = parseProperties(text).get(key)?.value;
  if (read !== value) throw new PropertyEditError(`setting ${key} would not read back as written`);
}
