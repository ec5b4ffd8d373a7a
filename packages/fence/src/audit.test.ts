import { SystemClock } from "@hb/core";
import { makeTempDir } from "@hb/testkit";
import { appendFile, readFile, stat, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog, type FenceFollowUp } from "./index.js";

const temp = await makeTempDir("hb-audit-");
afterAll(() => temp.remove());

const line = (id: string, detail: string): FenceFollowUp => ({ kind: "dry-run", id, wallTime: "2026-07-01T10:00:00.000Z", monoMs: 1, detail });

describe("AuditLog", () => {
  it("creates the state folder and appends one JSON line per record, private to root", async () => {
    const log = new AuditLog(temp.file("state/nested"), new SystemClock(), 1000);
    expect(await log.append(line("a", "first"))).toMatchObject({ ok: true, detail: expect.stringContaining("fsync'd") });
    expect(await log.append(line("b", 'second, with "quotes"\nand a newline'))).toMatchObject({ ok: true });
    const lines = (await readFile(log.path, "utf8")).split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[2]).toBe("");
    expect(lines.slice(0, 2).map((text) => JSON.parse(text).detail)).toEqual(["first", 'second, with "quotes"\nand a newline']);
    expect((await stat(log.path)).mode & 0o777).toBe(0o640);
    expect((await stat(temp.file("state/nested"))).mode & 0o777).toBe(0o750);
  });

  it("keeps what is there: a torn last line from a reset stays, the next record starts on its own line after it", async () => {
    const dir = temp.file("torn");
    const log = new AuditLog(dir, new SystemClock(), 1000);
    await log.append(line("a", "before"));
    await appendFile(log.path, '{"kind":"decision","id":"cut sh');
    await log.append(line("b", "after"));
    const lines = (await readFile(log.path, "utf8")).split("\n");
    expect(lines[1]).toBe('{"kind":"decision","id":"cut sh');
    expect(JSON.parse(lines[2] ?? "")).toMatchObject({ id: "b", detail: "after" });
  });

  it("fails with the reason, without throwing, when the folder cannot be made", async () => {
    await writeFile(temp.file("a-file"), "");
    const log = new AuditLog(temp.file("a-file/state"), new SystemClock(), 1000);
    expect(await log.append(line("a", "x"))).toEqual({ ok: false, detail: expect.stringMatching(/^not written to .*ENOTDIR/) });
  });
});
