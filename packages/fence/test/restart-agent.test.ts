import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { contextFor, decisionFor, expectCompleteRecord, useFakeHosts, STEP_MS } from "./fakes.js";
import { exited, startVm, started } from "./processes.js";
import { RestartAgentAction, type FenceActionReport } from "../src/index.js";

const { host, cleanups } = useFakeHosts();

const step = (report: FenceActionReport, name: string) => report.steps.find((candidate) => candidate.name === name);
const decision = decisionFor({ action: "restart-agent", isFence: false });
const MAIN_LINE =
  "logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: heartbeat to the storage failed (pool-7f3a: 5 of 5 attempts failed: timeout); fence action 'restart-agent' — restarting cloudstack-agent. This is NOT a fence: the VMs keep running here while CloudStack may start them on another host (two writers on one disk).";

describe("restart-agent", () => {
  it("logs that it is not a fence, then restarts the agent's unit without waiting for the job", async () => {
    const fake = await host();
    const exits: number[] = [];
    const report = await new RestartAgentAction(contextFor(fake, { onScriptExit: (status) => exits.push(status) })).execute(decision);
    expect(await fake.eventNames()).toEqual([MAIN_LINE, "systemctl --no-block restart cloudstack-agent"]);
    expect(report).toMatchObject({ action: "restart-agent", acted: true, exitStatus: 0, outcome: expect.stringContaining("NOT a fence") });
    expect(exits).toEqual([0]);
    const [record] = await fake.records();
    expectCompleteRecord(record as Record<string, unknown>);
    expect(record).toMatchObject({ action: "restart-agent", fences: false, isFence: false, summary: expect.stringContaining("NOT a fence") });
  });

  it("restarts the unit named by hb.fence.agent.service, and refuses a name that is not a unit", async () => {
    const fake = await host();
    await new RestartAgentAction(contextFor(fake, { settings: { agentService: "cloudstack-agent@2.service" } })).execute(decision);
    expect((await fake.eventNames()).at(-1)).toBe("systemctl --no-block restart cloudstack-agent@2.service");

    const refused = await new RestartAgentAction(contextFor(fake, { settings: { agentService: "--force" } })).execute(decision);
    expect(refused).toMatchObject({ acted: false, exitStatus: 1, outcome: expect.stringContaining("not a systemd unit name") });
    expect((await fake.eventNames()).filter((line) => line.startsWith("systemctl"))).toHaveLength(1);
  });

  it("with a systemctl that hangs, gives up at the step deadline and reports the failure", async () => {
    const fake = await host({ systemctl: "hang" });
    const report = await new RestartAgentAction(contextFor(fake)).execute(decision);
    expect(step(report, "systemctl restart")).toMatchObject({ ok: false, detail: expect.stringContaining(`gave no answer within ${STEP_MS} ms`) });
    expect(report).toMatchObject({ acted: false, exitStatus: 1 });
    // Record, syslog and the request: three steps of at most STEP_MS each.
    const last = report.steps.at(-1);
    expect((last?.startedAtMs ?? 0) + (last?.durationMs ?? 0)).toBeLessThan(3 * STEP_MS + 1500);
  });

  it("with a logger that hangs and a state folder that fails, still restarts the agent", async () => {
    const fake = await host({ logger: "hang" });
    await writeFile(fake.temp.file("file"), "");
    const report = await new RestartAgentAction(contextFor(fake, { settings: { stateDir: fake.temp.file("file") } })).execute(decision);
    expect(await fake.eventNames()).toEqual([MAIN_LINE, "systemctl --no-block restart cloudstack-agent"]);
    expect(report).toMatchObject({ recorded: false, acted: true });
  });

  it("with the split-brain guard on, stops the VMs on the lost pool first and reports each pid", async () => {
    const fake = await host();
    const polite = startVm("polite");
    const stubborn = startVm("stubborn");
    cleanups.push(() => void polite.kill("SIGKILL"), () => void stubborn.kill("SIGKILL"));
    const pids = [await started(polite), await started(stubborn)];
    const asked: string[] = [];
    const ctx = contextFor(fake, {
      settings: { killAffectedVms: true },
      affectedVms: {
        find: async (target) => {
          asked.push(target);
          return pids;
        },
      },
    });
    const report = await new RestartAgentAction(ctx).execute(decision);
    expect(asked).toEqual(["pool-7f3a"]);
    expect(await exited(polite)).toBe("SIGTERM");
    expect(await exited(stubborn)).toBe("SIGKILL");
    const events = await fake.eventNames();
    expect(events).toEqual([
      MAIN_LINE,
      `logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: split-brain guard for pool-7f3a: pid ${pids[0]} stopped on SIGTERM; pid ${pids[1]} killed with SIGKILL.`,
      "systemctl --no-block restart cloudstack-agent",
    ]);
    const [record, stopped] = await fake.records();
    expect(record?.plan).toEqual(["stop the qemu processes with disks on the lost storage (hb.fence.kill.affected.vms)", "systemctl --no-block restart cloudstack-agent"]);
    expect(stopped).toMatchObject({
      kind: "affected-vms",
      vms: [
        { pid: pids[0], outcome: "terminated" },
        { pid: pids[1], outcome: "killed" },
      ],
    });
    expect(report.acted).toBe(true);
  });

  it("says plainly when the guard is on but nothing can tell which VMs are affected", async () => {
    const fake = await host();
    const report = await new RestartAgentAction(contextFor(fake, { settings: { killAffectedVms: true } })).execute(decision);
    const events = await fake.eventNames();
    expect(events[1]).toBe(
      "logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: hb.fence.kill.affected.vms is true, but kvmspheartbeat.sh cannot tell which VMs use pool-7f3a: no VM was stopped.",
    );
    expect(events[2]).toBe("systemctl --no-block restart cloudstack-agent");
    expect(step(report, "affected VMs")?.ok).toBe(false);
  });

  it("in a dry run, restarts nothing and stops nothing, and records what it would have done", async () => {
    const fake = await host();
    const vm = startVm("polite");
    cleanups.push(() => void vm.kill("SIGKILL"));
    const pid = await started(vm);
    const ctx = contextFor(fake, { settings: { killAffectedVms: true }, affectedVms: { find: async () => [pid] } });
    const report = await new RestartAgentAction(ctx).execute({ ...decision, mode: "dry-run", dryRun: true });
    expect((await fake.eventNames()).filter((line) => line.startsWith("systemctl"))).toEqual([]);
    expect(vm.exitCode).toBeNull();
    expect(vm.signalCode).toBeNull();
    const [record, guard, dry] = await fake.records();
    expectCompleteRecord(record as Record<string, unknown>);
    expect(guard).toMatchObject({ kind: "affected-vms", detail: `dry run: would stop pids ${pid} (SIGTERM, then SIGKILL)` });
    expect(dry).toMatchObject({ kind: "dry-run", detail: "dry run: would run systemctl --no-block restart cloudstack-agent" });
    expect(report).toMatchObject({ acted: false, exitStatus: 0 });
  });
});
