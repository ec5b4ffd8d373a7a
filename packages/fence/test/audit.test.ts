import { ProcessExecutor, SystemClock } from "@hb/core";
import { makeTempDir } from "@hb/testkit";
import { spawnSync } from "node:child_process";
import { appendFile, mkdir, readFile, stat, symlink, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { AuditLog, withinDeadline, type FenceFollowUp } from "../src/index.js";
import { hangingMount } from "./storage.js";

const temp = await makeTempDir("hb-audit-");
afterAll(() => temp.remove());

const line = (id: string, detail: string): FenceFollowUp => ({ kind: "dry-run", id, wallTime: "2026-07-01T10:00:00.000Z", monoMs: 1, detail });

describe("AuditLog", () => {
  it("creates the state folder and appends one JSON line per record, private to root", async () => {
    const log = new AuditLog(temp.file("state/nested"), new SystemClock(), 1000, new ProcessExecutor());
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
    const log = new AuditLog(dir, new SystemClock(), 1000, new ProcessExecutor());
    await log.append(line("a", "before"));
    await appendFile(log.path, '{"kind":"decision","id":"cut sh');
    await log.append(line("b", "after"));
    const lines = (await readFile(log.path, "utf8")).split("\n");
    expect(lines[1]).toBe('{"kind":"decision","id":"cut sh');
    expect(JSON.parse(lines[2] ?? "")).toMatchObject({ id: "b", detail: "after" });
  });

  it("fails with the reason, without throwing, when the folder cannot be made", async () => {
    await writeFile(temp.file("a-file"), "");
    const log = new AuditLog(temp.file("a-file/state"), new SystemClock(), 1000, new ProcessExecutor());
    expect(await log.append(line("a", "x"))).toEqual({ ok: false, detail: expect.stringMatching(/^not written to .*ENOTDIR/) });
  });

  it("refuses a FIFO or a symlink planted as fence.jsonl, at once and with the reason", async () => {
    const dir = temp.file("planted");
    await mkdir(dir);
    spawnSync("mkfifo", [`${dir}/fence.jsonl`]);
    const fifo = await new AuditLog(dir, new SystemClock(), 5000, new ProcessExecutor()).append(line("a", "x"));
    expect(fifo).toEqual({ ok: false, detail: `not written to ${dir}/fence.jsonl: not a regular file: refused` });
    const other = temp.file("planted-link");
    await mkdir(other);
    await writeFile(temp.file("elsewhere"), "");
    await symlink(temp.file("elsewhere"), `${other}/fence.jsonl`);
    expect(await new AuditLog(other, new SystemClock(), 5000, new ProcessExecutor()).append(line("a", "x"))).toEqual({ ok: false, detail: expect.stringMatching(/^not written to .*ELOOP/) });
    expect(await readFile(temp.file("elsewhere"), "utf8")).toBe("");
  });

  it("gives up on a hung state folder at its deadline without pinning this process's I/O threads", async (context) => {
    const mount = await hangingMount(temp.path);
    if (typeof mount === "string") return context.skip(mount);
    try {
      const clock = new SystemClock();
      // Four hung writes would take every libuv pool thread if they ran in this process.
      for (let n = 0; n < 4; n++) {
        expect(await new AuditLog(`${mount.path}/state`, clock, 300, new ProcessExecutor()).append(line(`h${n}`, "x"))).toEqual({
          ok: false,
          detail: `not confirmed: ${mount.path}/state/fence.jsonl did not answer within 300 ms`,
        });
      }
      const local = await withinDeadline(clock, 5000, readFile("/proc/self/stat", "utf8"));
      expect(local.done).toBe(true);
    } finally {
      await mount.release();
    }
  });
});
