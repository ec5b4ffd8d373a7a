import { writeFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { contextFor, decisionFor, expectCompleteRecord, useFakeHosts, STEP_MS } from "./fakes.js";
import { exited, startVm, started } from "./processes.js";
import { LogOnlyAction } from "../src/index.js";

const { host, cleanups } = useFakeHosts();

const decision = decisionFor({ action: "log-only", isFence: false });
const LINE =
  "logger -t heartbeat -p user.emerg -- kvmspheartbeat.sh: heartbeat to the storage failed (pool-7f3a: 5 of 5 attempts failed: timeout); fence action 'log-only' — taking no action. This is NOT a fence: the VMs keep running here while CloudStack may start them on another host (two writers on one disk). Operator must investigate.";

describe("log-only", () => {
  it("records and logs at the highest severity that it is not a fence, and runs nothing else", async () => {
    const fake = await host();
    const exits: number[] = [];
    const report = await new LogOnlyAction(contextFor(fake, { onScriptExit: (status) => exits.push(status) })).execute(decision);
    expect(await fake.eventNames()).toEqual([LINE]);
    expect(report).toMatchObject({ action: "log-only", acted: false, exitStatus: 0, recorded: true });
    expect(exits).toEqual([0]);
    const [record, ...rest] = await fake.records();
    expect(rest).toEqual([]);
    expectCompleteRecord(record as Record<string, unknown>);
    expect(record).toMatchObject({ action: "log-only", fences: false, isFence: false, plan: ["syslog at priority user.emerg", "nothing else"] });
  });

  it("returns at the step deadlines when logger hangs and the state folder fails", async () => {
    const fake = await host({ logger: "hang" });
    await writeFile(fake.temp.file("file"), "");
    const report = await new LogOnlyAction(contextFor(fake, { settings: { stateDir: fake.temp.file("file") } })).execute(decision);
    expect(report.steps.map((step) => [step.name, step.ok])).toEqual([
      ["record", false],
      ["syslog", false],
      // The notice about the record is not sent to a logger that already hung.
      ["syslog", false],
    ]);
    const last = report.steps.at(-1);
    expect((last?.startedAtMs ?? 0) + (last?.durationMs ?? 0)).toBeLessThan(2 * STEP_MS + 1500);
  });

  it("with the split-brain guard on, stops the affected VMs and reports them", async () => {
    const fake = await host();
    const vm = startVm("polite");
    cleanups.push(() => void vm.kill("SIGKILL"));
    const pid = await started(vm);
    const report = await new LogOnlyAction(contextFor(fake, { settings: { killAffectedVms: true }, affectedVms: { find: async () => [pid] } })).execute(decision);
    expect(await exited(vm)).toBe("SIGTERM");
    expect(await fake.eventNames()).toEqual([LINE, `logger -t heartbeat -p user.crit -- kvmspheartbeat.sh: split-brain guard for pool-7f3a: pid ${pid} stopped on SIGTERM.`]);
    expect(report.exitStatus).toBe(0);
  });
});
