import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { loadConfig, PROPERTY_SPECS } from "./index.js";

const temp = await makeTempDir("hb-load-");
afterAll(() => temp.remove());

async function file(name: string, content: string | Buffer): Promise<string> {
  const path = temp.file(name);
  await writeFile(path, content);
  return path;
}

let fifos = 0;
function fifo(): string {
  const path = temp.file(`fifo-${++fifos}.properties`);
  expect(spawnSync("mkfifo", [path]).status).toBe(0);
  return path;
}

const DEFAULT_ACTION = PROPERTY_SPECS["kvm.heartbeat.fence.action"].defaultValue;

describe("loadConfig", () => {
  it("reads the file's values and problems, and keeps the parsed document", async () => {
    const path = await file("good.properties", "kvm.heartbeat.fence.action=log-only\nkvm.heartbeat.update.max.tries=zero\n");
    const loaded = await loadConfig(path);
    expect(loaded.fileProblem).toBeNull();
    expect(loaded.values["kvm.heartbeat.fence.action"]).toBe("log-only");
    expect(loaded.problems).toEqual([expect.objectContaining({ key: "kvm.heartbeat.update.max.tries", line: 2 })]);
    expect([...(loaded.document?.entries.keys() ?? [])]).toEqual(["kvm.heartbeat.fence.action", "kvm.heartbeat.update.max.tries"]);
    expect(loaded.sources["kvm.heartbeat.fence.action"]).toEqual({ kind: "file", line: 1 });
  });

  const unusable: [string, () => Promise<string>, RegExp][] = [
    ["missing", async () => temp.file("missing.properties"), /missing\.properties/],
    ["a FIFO", async () => fifo(), /fifo-\d+\.properties is a FIFO, not a regular file/],
    ["a syntax error Java refuses", () => file("syntax.properties", "a=\\u12\n"), /^line 1: .*java\.util\.Properties rejects the whole file/],
    ["binary data", () => file("binary.properties", Buffer.from("kvm.heartbeat.fence.action=log-only\n\0\x01\x02")), /binary\.properties holds binary data, not properties/],
  ];

  it.each(unusable)("gives CloudStack's defaults for %s, with one notice", async (_, make, reason) => {
    const path = await make();
    const loaded = await loadConfig(path);
    expect(loaded.values["kvm.heartbeat.fence.action"]).toBe(DEFAULT_ACTION);
    expect(loaded.problems).toEqual([]);
    expect(loaded.document).toBeNull();
    expect(loaded.fileProblem?.message).toMatch(reason);
    expect(loaded.fileProblem?.notice).toBe(`${loaded.fileProblem?.message}; using CloudStack's defaults`);
  });

  it.each(unusable)("throws a named error for %s when asked to (an operator's --file)", async (_, make) => {
    const path = await make();
    await expect(loadConfig(path, { unusable: "throw" })).rejects.toMatchObject({ code: expect.stringMatching(/^(CONFIG_FILE|FILE_NOT_REGULAR|PROPERTIES_SYNTAX)$/) });
  });

  it("applies overrides on top of the file, and on top of the defaults when the file cannot be used", async () => {
    const path = await file("override.properties", "kvm.heartbeat.fence.action=log-only\nkvm.heartbeat.update.max.tries=3\n");
    const loaded = await loadConfig(path, { overrides: { "kvm.heartbeat.update.max.tries": "7" } });
    expect(loaded.values["kvm.heartbeat.fence.action"]).toBe("log-only");
    expect(loaded.values["kvm.heartbeat.update.max.tries"]).toBe(7);
    expect(loaded.document?.get("kvm.heartbeat.update.max.tries")?.value).toBe("3");
    const fallback = await loadConfig(temp.file("absent.properties"), { overrides: { "kvm.heartbeat.update.max.tries": "7" } });
    expect(fallback.fileProblem).not.toBeNull();
    expect(fallback.values["kvm.heartbeat.update.max.tries"]).toBe(7);
  });
});
