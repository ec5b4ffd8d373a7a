import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const exec = promisify(execFile);
const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const sample = fileURLToPath(new URL("../../../examples/agent.properties", import.meta.url));

// The built bundle, started as a real process the way an operator starts it.
describe("bin/hb.js", () => {
  it("runs the built CLI and passes its exit code through", async () => {
    const { stdout } = await exec(process.execPath, [bin, "config", "get", "kvm.heartbeat.fence.action", "--file", sample]);
    expect(stdout).toBe("graceful-reboot\n");
    await expect(exec(process.execPath, [bin, "config", "get", "no.such.key", "--file", sample])).rejects.toMatchObject({ code: 1 });
  });

  it("honours AGENT_PROPS from the environment", async () => {
    const { stdout } = await exec(process.execPath, [bin, "config", "get", "host"], { env: { ...process.env, AGENT_PROPS: sample } });
    expect(stdout).toBe("10.1.1.10\n");
  });
});
