// The -c entry points run as the agent runs them: a real process, judged by its exit status and
// output, killed at heartbeat.update.timeout. The action runs in a detached `hb fence`.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { readScriptConfig } from "../src/lib/config.js";
import { type FenceHost, roomyFenceHost } from "@hb/testkit";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function host(behaviours: Parameters<typeof roomyFenceHost>[0] = {}): Promise<FenceHost> {
  const fake = await roomyFenceHost(behaviours);
  cleanups.push(() => fake.temp.remove());
  return fake;
}

interface Script {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Starts the entry point as the agent does (stdout and stderr merged by the agent; kept apart here). */
function start(fake: FenceHost, args: readonly string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, [bin, "compat", ...args], {
    env: { ...process.env, PATH: fake.path, AGENT_PROPS: fake.properties, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk));
  const done = new Promise<Script>((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

const upstream = (script: string) => `logger -t heartbeat -- ${script} will reboot system because it was unable to write the heartbeat to the storage.`;

describe("hb compat kvmspheartbeat -c", () => {
  for (const [label, lines] of [
    ["unset", []],
    ["reboot", ["kvm.heartbeat.fence.action=reboot"]],
    ["hard-reboot", ["kvm.heartbeat.fence.action=hard-reboot"]],
  ] as const) {
    it(`with kvm.heartbeat.fence.action ${label}: upstream's log line, flush, b; exit 0 and no output`, async () => {
      const fake = await host();
      await fake.writeProperties(lines);
      expect(await start(fake, ["kvmspheartbeat", "-c"]).done).toEqual({ code: 0, stdout: "", stderr: "" });
      expect(await fake.eventNames()).toEqual([upstream("kvmspheartbeat.sh"), "s", "sync", "b"]);
      expect(await fake.records()).toEqual([
        expect.objectContaining({ source: "kvmspheartbeat.sh", action: "hard-reboot", isFence: true, reason: "the CloudStack agent ran kvmspheartbeat.sh -c" }),
      ]);
    });
  }

  it("with graceful-reboot: answers systemctl's status at once, and resets at the deadline when the host is still up", async (context) => {
    // The default backstop writes a reboot.target drop-in under /run/systemd/system.
    if (existsSync("/run/systemd/system")) return context.skip("systemd is running here: the test would leave a real reboot.target drop-in behind");
    const fake = await host();
    await fake.writeProperties(["kvm.heartbeat.fence.action=graceful-reboot"]);
    const script = await start(fake, ["kvmspheartbeat", "-c"]).done;
    expect(script).toEqual({ code: 0, stdout: "", stderr: "" });
    // The entry point has answered; the detached action is still waiting for the shutdown.
    expect(await fake.eventNames()).not.toContain("b");
    const events = await fake.waitForEvent((line) => line === "b");
    expect(events[0]).toMatch(/^logger -t heartbeat -p user\.crit -- kvmspheartbeat\.sh will reboot system gracefully/);
    expect(events).toContain("systemctl --no-block reboot");
    // No systemd and no watchdog device here: softdog is asked for, the drop-in is not possible.
    expect(events).toContain("modprobe softdog soft_margin=2");
    expect(events).toContain("logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: graceful-reboot fell back to reboot (sysrq b): the reboot was accepted but the host was still up after 1.5 s (the shutdown stalled).");
    expect(events.slice(-3)).toEqual(["s", "sync", "b"]);
    const records = await fake.records();
    expect(records.map((record) => record.kind)).toEqual(["decision", "fallback"]);
  });

  it("with restart-agent: says it is not a fence and restarts the agent without blocking", async () => {
    const fake = await host();
    await fake.writeProperties(["kvm.heartbeat.fence.action=restart-agent"]);
    expect(await start(fake, ["kvmspheartbeat", "-c"]).done).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await fake.eventNames()).toEqual([
      expect.stringMatching(/^logger -t heartbeat -p user\.crit -- kvmspheartbeat\.sh: .*fence action 'restart-agent' — restarting cloudstack-agent\. This is NOT a fence/),
      "systemctl --no-block restart cloudstack-agent",
    ]);
    expect((await fake.records())[0]).toMatchObject({ action: "restart-agent", isFence: false });
  });

  it("with log-only: one line at the highest severity, nothing else", async () => {
    const fake = await host();
    await fake.writeProperties(["kvm.heartbeat.fence.action=log-only"]);
    expect(await start(fake, ["kvmspheartbeat", "-c"]).done).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await fake.eventNames()).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.emerg -- kvmspheartbeat\.sh: .*'log-only' — taking no action\. This is NOT a fence/)]);
  });

  it("with an unknown value: reboots, as upstream does, and says why in syslog and the record", async () => {
    const fake = await host();
    await fake.writeProperties(["kvm.heartbeat.fence.action=shutdown"]);
    expect(await start(fake, ["kvmspheartbeat", "-c"]).done).toEqual({ code: 0, stdout: "", stderr: "" });
    const events = await fake.eventNames();
    expect(events[0]).toBe(upstream("kvmspheartbeat.sh"));
    expect(events[1]).toBe(
      `logger -t heartbeat -p user.warning -- kvmspheartbeat.sh: ${fake.properties}:7: kvm.heartbeat.fence.action: not a fence action (hard-reboot, graceful-reboot, restart-agent, log-only, custom; reboot = hard-reboot); using the default hard-reboot`,
    );
    expect(events.slice(2)).toEqual(["s", "sync", "b"]);
    expect((await fake.records())[0]).toMatchObject({ action: "hard-reboot", notices: [expect.stringContaining("not a fence action")] });
  });

  it("exits 1 without output when the reset cannot be written, as `echo b > /proc/sysrq-trigger` would", async () => {
    const fake = await host();
    await fake.writeProperties([`hb.fence.sysrq.trigger=${fake.temp.file("no-sysrq")}`]);
    expect(await start(fake, ["kvmspheartbeat", "-c"]).done).toEqual({ code: 1, stdout: "", stderr: "" });
  });

  it("finishes the fence when the agent kills the script half way (only its direct child dies)", async () => {
    const fake = await host();
    await fake.writeProperties(["hb.fence.flush.wait=1500"]);
    const script = start(fake, ["kvmspheartbeat", "-c"]);
    // The action has started (its syslog line is out) and is inside its flush wait.
    await fake.waitForEvent((line) => line === "sync");
    script.child.kill("SIGKILL");
    expect((await script.done).code).toBeNull();
    expect(await fake.eventNames()).not.toContain("b");
    expect((await fake.waitForEvent((line) => line === "b")).slice(-3)).toEqual(["s", "sync", "b"]);
  });

  it("without -c does nothing and exits 0; an unknown flag prints upstream's usage and exits 1", async () => {
    const fake = await host();
    expect(await start(fake, ["kvmspheartbeat"]).done).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await start(fake, ["kvmspheartbeat", "-x"]).done).toEqual({ code: 1, stdout: "Usage: kvmspheartbeat.sh -c\n", stderr: "" });
    expect(await fake.eventNames()).toEqual([]);
  });
});

describe("hb compat kvmheartbeat … -c", () => {
  it("fences with kvmheartbeat.sh's line, naming the pool's mount point in the record, without touching mounts", async () => {
    const fake = await host();
    const args = ["kvmheartbeat", "-i", "10.0.0.5", "-p", "/export/primary", "-m", "/mnt/6e1b9a4c-pool", "-c"];
    expect(await start(fake, args).done).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await fake.eventNames()).toEqual([upstream("kvmheartbeat.sh"), "s", "sync", "b"]);
    expect((await fake.records())[0]).toMatchObject({ source: "kvmheartbeat.sh", target: "/mnt/6e1b9a4c-pool" });
  });
});

describe("the -c configuration", () => {
  it("is CloudStack's defaults when agent.properties is missing or unreadable: the host is still fenced", async () => {
    const fake = await host();
    const missing = await readScriptConfig(fake.temp.file("absent.properties"));
    expect(missing.values["kvm.heartbeat.fence.action"]).toBe("hard-reboot");
    expect(missing.values["hb.fence.sysrq.trigger"]).toBe("/proc/sysrq-trigger");
    expect(missing.notices).toEqual([`cannot read ${fake.temp.file("absent.properties")}: no such file; using CloudStack's defaults`]);
    const folder = await readScriptConfig(fake.temp.path);
    expect(folder.values["kvm.heartbeat.fence.action"]).toBe("hard-reboot");
    expect(folder.notices[0]).toMatch(/(EISDIR|is a folder).*using CloudStack's defaults$/);
    expect(readFileSync(fake.properties, "utf8")).toContain("hb.state.dir=");
  });
});
