import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { HbError, type ErrorCode } from "@hb/errors";
import { describe, expect, it } from "vitest";
import { EXIT_ERROR, EXIT_INTERNAL, exitCodeFor, MAPPED_ERROR_CODES } from "./errors.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === "node_modules" || entry.name === "dist" ? [] : sourceFiles(path);
    return /\.ts$/.test(entry.name) && !/\.(test|d)\.ts$/.test(entry.name) ? [path] : [];
  });
}

/**
 * Every error code in the runtime sources of every package and app: the code each class extending
 * HbError passes to super(), and each `new HbError("CODE", …)`. A code that is not a string
 * literal there is reported as one this test cannot read.
 */
function codesInSources(): Map<string, string> {
  const codes = new Map<string, string>();
  for (const group of ["packages", "apps"]) {
    for (const name of readdirSync(join(root, group))) {
      let files: string[];
      try {
        files = sourceFiles(join(root, group, name, "src"));
      } catch {
        continue;
      }
      for (const file of files) {
        const text = readFileSync(file, "utf8");
        const where = relative(root, file);
        for (const chunk of text.split(/\bclass\s+/).slice(1)) {
          const declaration = /^(\w+)\s+extends\s+HbError\b/.exec(chunk);
          if (declaration === null) continue;
          const code = /\bsuper\(\s*("([A-Z][A-Z0-9_]*)"|[^,)]*)/.exec(chunk);
          codes.set(code?.[2] ?? `unreadable code of ${declaration[1]}: ${code?.[1] ?? "no super() call"}`, `${where} (${declaration[1]})`);
        }
        for (const match of text.matchAll(/new\s+HbError\(\s*("([A-Z][A-Z0-9_]*)"|[^,)]*)/g)) codes.set(match[2] ?? `unreadable code: new HbError(${match[1]}`, where);
      }
    }
  }
  return codes;
}

describe("the exit-code map", () => {
  const inSources = codesInSources();

  it("finds the error codes of every package (the walk itself works)", () => {
    for (const code of ["USAGE", "CONFIG_FILE", "SCENARIO", "DRBD_COMMAND", "SCAN_FAILED", "FENCE_LOG", "DAEMON_REFUSED", "WATCHDOG"]) expect(inSources.has(code)).toBe(true);
  });

  it("maps every error code hb has, and no code that no longer exists", () => {
    const missing = [...inSources].filter(([code]) => !MAPPED_ERROR_CODES.includes(code)).map(([code, where]) => `${code} (${where})`);
    expect(missing).toEqual([]);
    expect(MAPPED_ERROR_CODES.filter((code) => !inSources.has(code))).toEqual([]);
  });

  it("gives no error the exit codes of answers (0, 1: dead, lost, absent)", () => {
    for (const code of MAPPED_ERROR_CODES) expect(exitCodeFor(new HbError(code as ErrorCode, "x"))).toBe(EXIT_ERROR);
    // An error made by a newer copy of a package: its code is not one this version declares.
    expect(exitCodeFor(new HbError("A_CODE_FROM_A_NEWER_PACKAGE" as ErrorCode, "x"))).toBe(EXIT_ERROR);
    expect(exitCodeFor(new TypeError("x"))).toBe(EXIT_INTERNAL);
    expect(exitCodeFor("thrown string")).toBe(EXIT_INTERNAL);
  });
});
