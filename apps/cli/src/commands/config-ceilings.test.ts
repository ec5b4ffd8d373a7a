import { readFile, writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { runHb } from "../../test/harness.js";

const temp = await makeTempDir("hb-ceilings-");
afterAll(() => temp.remove());

let files = 0;
async function fileWith(text: string): Promise<string> {
  const path = temp.file(`agent-${++files}.properties`);
  await writeFile(path, text);
  return path;
}

describe("hb config validate: what hb and hbd cannot use", () => {
  it.each([
    ["hb.fence.graceful.deadline=9999999999", /hb\.fence\.graceful\.deadline: too large: more than 2147483647 ms, the longest wait a timer can hold; using the default 120000/],
    ["hb.fence.step.timeout=9999999999", /hb\.fence\.step\.timeout: too large: more than 2147483647 ms/],
    ["kvm.heartbeat.update.frequency=3000000000", /kvm\.heartbeat\.update\.frequency: too large: more than 2147483647 ms/],
    ["hb.fence.step.timeout=600000", /hb\.fence\.step\.timeout: too large: at most 60000 ms \(a hung step holds the fence this long\); using the default 2000/],
    ["hb.status.listen=0.0.0.0:9746", /hb\.status\.listen: not a loopback address; set hb\.status\.allow\.remote=true to expose it; using the default 127\.0\.0\.1:9746/],
    ["hb.status.listen=somewhere", /hb\.status\.listen: expected HOST:PORT/],
    ["hb.state.dir=var/lib/hb", /hb\.state\.dir: not an absolute path/],
    ["hb.fence.sysrq.trigger=/proc/sysrq-trigger\\u0000", /hb\.fence\.sysrq\.trigger: holds a control character \(\\u0000\)/],
    ["hb.state.dir=/var/lib\\nhb", /hb\.state\.dir: holds a control character \(\\u000a\)/],
    ["hb.pools=nfs:/mnt/a;nfs:mnt/b", /hb\.pools: nfs:mnt\/b: the mount point must be an absolute path without \.\.; hbd skips it \(pools kept: a\)/],
  ])("%s is a problem: exit 1, FILE:LINE: KEY: why", async (line, message) => {
    const file = await fileWith(`# hb\n${line}\n`);
    const { code, stdout, stderr } = await runHb(["config", "validate", "--file", file]);
    expect([code, stderr]).toEqual([1, ""]);
    expect(stdout).toMatch(new RegExp(`^${file.replaceAll(".", "\\.")}:2: ${message.source}`));
  });

  it("passes a remote status address once hb.status.allow.remote is on", async () => {
    const file = await fileWith("hb.status.listen=0.0.0.0:9746\nhb.status.allow.remote=true\n");
    expect(await runHb(["config", "validate", "--file", file])).toMatchObject({ code: 0, stdout: `${file}: no problems\n` });
  });
});

describe("hb config set refuses what no part of hb can use, even with --force", () => {
  it.each([
    ["hb.fence.graceful.deadline", "9999999999", /too large: more than 2147483647 ms/],
    ["kvm.heartbeat.update.frequency", "3000000000", /too large/],
    ["hb.fence.step.timeout", "86400000", /at most 60000 ms/],
    ["hb.state.dir", "/var/lib\nhb", /control character/],
  ])("%s=%j", async (key, value, reason) => {
    const file = await fileWith("a=1\n");
    for (const force of [[], ["--force"]]) {
      const { code, stdout, stderr } = await runHb(["config", "set", key, value, "--file", file, ...force]);
      expect([code, stdout]).toEqual([2, ""]);
      expect(stderr).toMatch(reason);
      expect(stderr).not.toMatch(/--force writes it anyway|\n\s+at /);
      expect(stderr.split("\n").filter(Boolean)).toHaveLength(1);
    }
    expect(await readFile(file, "utf8")).toBe("a=1\n");
  });

  it("still writes, with --force, a value hb reads otherwise (not past a ceiling)", async () => {
    const file = await fileWith("a=1\n");
    expect((await runHb(["config", "set", "hb.fence.step.timeout", "0", "--file", file])).stderr).toMatch(/--force writes it anyway/);
    expect((await runHb(["config", "set", "hb.fence.step.timeout", "0", "--file", file, "--force"])).code).toBe(0);
    expect(await readFile(file, "utf8")).toBe("a=1\nhb.fence.step.timeout=0\n");
  });

  it("takes a duration at its ceiling", async () => {
    const file = await fileWith("");
    expect(await runHb(["config", "set", "hb.fence.step.timeout", "60000", "--file", file])).toMatchObject({ code: 0, stderr: "" });
  });

  it("refuses a change that makes another value unusable to hbd: allow.remote off under a remote listen", async () => {
    const file = await fileWith("hb.status.listen=0.0.0.0:9746\nhb.status.allow.remote=true\n");
    const refused = await runHb(["config", "set", "hb.status.allow.remote", "false", "--file", file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/hb\.status\.allow\.remote=false refused: hb\.status\.listen: not a loopback address/);
    expect(await readFile(file, "utf8")).toBe("hb.status.listen=0.0.0.0:9746\nhb.status.allow.remote=true\n");
  });
});
