import { appendFile, readFile, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { type FenceHost, roomyFenceHost } from "@hb/testkit";
import { runHb } from "./harness.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function host(behaviours: Parameters<typeof roomyFenceHost>[0] = {}): Promise<FenceHost> {
  const fake = await roomyFenceHost(behaviours);
  const previous = process.env.PATH;
  process.env.PATH = fake.path;
  cleanups.push(() => fake.temp.remove());
  cleanups.push(() => void (process.env.PATH = previous));
  return fake;
}

describe("hb fence", () => {
  it("runs the chosen action now, prints each step, and records it as an operator's request", async () => {
    const fake = await host();
    const { code, stdout, stderr } = await runHb(["fence", "--action", "hard-reboot", "--reason", "drill", "--file", fake.properties]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(await fake.eventNames()).toEqual(["logger -t heartbeat -- hb fence will reboot system (sysrq b): requested by the operator (drill).", "s", "sync", "b"]);
    expect(stdout).toMatch(/^hb fence: hard-reboot \(record [0-9a-f-]{36} in .*\/state\/fence\.jsonl\)\n/);
    expect(stdout).toMatch(/^ {2}sysrq b +ok +\d+ ms {2}b written to /m);
    expect(stdout).toMatch(/the host is being reset/);
    expect(await fake.records()).toEqual([expect.objectContaining({ action: "hard-reboot", source: "hb fence", reason: "drill", isFence: true, hbVersion: "0.0.0-test" })]);
  });

  it("takes the configured action by default, and --dry-run runs the whole path without acting", async () => {
    const fake = await host();
    await fake.writeProperties(["kvm.heartbeat.fence.action=graceful-reboot"]);
    const { code, stdout } = await runHb(["fence", "--dry-run", "--file", fake.properties]);
    expect(code).toBe(0);
    expect(await fake.eventNames()).toEqual([expect.stringMatching(/^logger -t heartbeat -p user\.warning -- hb fence: dry run, nothing is done — hb fence would reboot system gracefully/)]);
    expect(stdout).toMatch(/dry run: would arm systemd-job-timeout and watchdog, run systemctl --no-block reboot/);
    const [record, dry] = await fake.records();
    expect(record).toMatchObject({ action: "graceful-reboot", mode: "dry-run", dryRun: true, isFence: false });
    expect(dry).toMatchObject({ kind: "dry-run" });
  });

  it("honours hb.fence.dry.run from the file", async () => {
    const fake = await host();
    await fake.writeProperties(["hb.fence.dry.run=true"]);
    expect((await runHb(["fence", "--file", fake.properties])).code).toBe(0);
    expect(await fake.eventNames()).not.toContain("b");
    expect((await fake.records())[0]).toMatchObject({ action: "hard-reboot", dryRun: true });
  });

  it("refuses an unknown --action and a missing --file without doing anything", async () => {
    const fake = await host();
    const bad = await runHb(["fence", "--action", "halt", "--file", fake.properties]);
    expect(bad).toMatchObject({ code: 2, stderr: 'hb: --action takes hard-reboot, graceful-reboot, restart-agent, log-only, custom (reboot = hard-reboot), not "halt"\n' });
    const missing = await runHb(["fence", "--file", fake.temp.file("nope.properties")]);
    expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining("no such file") });
    expect(await fake.eventNames()).toEqual([]);
  });

  it("exits with the action's status: a restart the unit refuses is 1", async () => {
    const fake = await host({ systemctl: "fail" });
    const { code, stdout } = await runHb(["fence", "--action", "restart-agent", "--file", fake.properties]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/restart of cloudstack-agent FAILED .*NOT a fence/);
  });
});

describe("hb fence last", () => {
  it("says there is no record yet (exit 1)", async () => {
    const fake = await host();
    expect(await runHb(["fence", "last", "--file", fake.properties])).toMatchObject({ code: 1, stdout: `No fence record in ${fake.stateDir}/fence.jsonl.\n` });
  });

  it("tells whether the last reboot was hb's, in words and as JSON", async () => {
    const fake = await host();
    await runHb(["fence", "--action", "reboot", "--reason", "drill", "--file", fake.properties]);
    const sameBoot = await runHb(["fence", "last", "--file", fake.properties]);
    expect(sameBoot.stdout).toMatch(/^hb decided to fence during this boot, and the host has not rebooted since: \(none: requested by the operator\), reason drill/);

    // The same record as a previous boot left it.
    const log = `${fake.stateDir}/fence.jsonl`;
    const [record] = await fake.records();
    await appendFile(log, `${JSON.stringify({ ...record, id: "earlier", bootId: "00000000-0000-4000-8000-000000000000", target: "pool-7f3a", reason: "5 of 5 attempts failed: timeout", source: "hbd" })}\n`);
    const earlier = await runHb(["fence", "last", "--file", fake.properties]);
    expect(earlier).toMatchObject({ code: 0 });
    expect(earlier.stdout).toMatch(/^The last reboot was hb's: pool-7f3a, reason 5 of 5 attempts failed: timeout \(hard-reboot by hbd on /);

    const json = JSON.parse((await runHb(["fence", "last", "--json", "--file", fake.properties])).stdout);
    expect(json).toMatchObject({ path: log, thisBoot: false, record: { id: "earlier", target: "pool-7f3a" }, followUps: [] });
    expect(json.bootId).toBe((await readFile("/proc/sys/kernel/random/boot_id", "utf8")).trim());
  });

  it("reads hb.state.dir from $AGENT_PROPS", async () => {
    const fake = await host();
    const result = await runHb(["fence", "last"], { env: { AGENT_PROPS: fake.properties } });
    expect(result.stdout).toBe(`No fence record in ${fake.stateDir}/fence.jsonl.\n`);
  });

  it("names the file when the log cannot be read", async () => {
    const fake = await host();
    await writeFile(fake.stateDir, "");
    expect(await runHb(["fence", "last", "--file", fake.properties])).toMatchObject({ code: 2, stderr: `hb: cannot read ${fake.stateDir}/fence.jsonl: ${fake.stateDir} is a regular file, not a folder\n` });
  });
});
