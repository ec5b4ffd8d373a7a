import { execFile } from "node:child_process";
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type FakeDrbdsetup, makeFakeDrbdsetup } from "@hb/testkit";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const exec = promisify(execFile);

let fake: FakeDrbdsetup;
beforeEach(async () => {
  fake = await makeFakeDrbdsetup();
  await fake.answer("events2", { hang: true });
});
afterEach(async () => {
  const pid = await fake.pidOf("events2");
  if (pid !== undefined) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  await fake.remove();
});

/**
 * A real hb process waiting on a hung drbdsetup, into which a bug is planted: an exception thrown
 * from a timer, outside any command's try (as an event handler's would be).
 */
async function hbWithABug(env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  const properties = fake.dir.file("agent.properties");
  await writeFile(properties, `hb.drbd.drbdsetup=${fake.path}\nhb.drbd.node.name=kvm-a\n`);
  const bug = "data:text/javascript,setTimeout(() => { throw new TypeError('planted bug\\n    at forged') }, 500)";
  return exec(process.execPath, ["--import", bug, bin, "drbd", "health", "--timeout", "60000", "--file", properties], { env: { ...process.env, ...env } }).then(
    (done) => ({ code: 0, ...done }),
    (error: { code: number; stdout: string; stderr: string }) => error,
  );
}

describe("an internal error outside a command", () => {
  it("prints one line saying where the details went, no stack, exit 70", async () => {
    const { code, stdout, stderr } = await hbWithABug({ HB_DEBUG: "" });
    expect({ code, stdout }).toEqual({ code: 70, stdout: "" });
    const match = /^hb: internal error \(a bug in hb, please report it\): TypeError: planted bug\\n {4}at forged; details in (\/\S+\/hb-error-\w+\/details\.txt), or run again with HB_DEBUG=1 to print them\n$/.exec(stderr);
    expect(match).not.toBeNull();
    const details = await readFile(match?.[1] ?? "", "utf8");
    await rm(dirname(match?.[1] ?? ""), { recursive: true });
    expect(details).toMatch(/^hb [\d.]+\S* internal error\nargv: \["drbd","health",[\s\S]*TypeError: planted bug\n {4}at forged\n {4}at /);
  });

  it("prints the stack after that line with HB_DEBUG=1", async () => {
    const { code, stderr } = await hbWithABug({ HB_DEBUG: "1" });
    expect(code).toBe(70);
    expect(stderr).toMatch(/^hb: internal error \(a bug in hb, please report it\): TypeError: planted bug\\n {4}at forged\nhb .* internal error\n[\s\S]* {4}at /);
  });
});
