import { spawnSync } from "node:child_process";
import { makeTempDir } from "@hb/testkit";
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { fileSysrqTrigger } from "./index.js";

const temp = await makeTempDir("hb-sysrq-");
afterAll(() => temp.remove());

describe("fileSysrqTrigger", () => {
  it("writes each key as `echo KEY` does, appending, synchronously", async () => {
    const path = temp.file("sysrq-trigger");
    await writeFile(path, "");
    const trigger = fileSysrqTrigger(path);
    trigger.write("s");
    trigger.write("b");
    expect(await readFile(path, "utf8")).toBe("s\nb\n");
  });

  it("throws naming the cause when the trigger is missing (no CONFIG_MAGIC_SYSRQ): it never creates one", () => {
    const path = temp.file("absent");
    expect(() => fileSysrqTrigger(path).write("b")).toThrow(/ENOENT/);
  });

  it("fails at once on a FIFO put in the trigger's place, instead of blocking the fence until a reader comes", () => {
    const path = temp.file("fifo-trigger");
    expect(spawnSync("mkfifo", [path]).status).toBe(0);
    expect(() => fileSysrqTrigger(path).write("b")).toThrow(/ENXIO/);
  });
});
