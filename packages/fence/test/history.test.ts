import { appendFile, mkdir, writeFile } from "node:fs/promises";
import { afterEach, describe, expect, it } from "vitest";
import { BOOT_ID, contextFor, decisionFor, fakeHost, type FakeHost } from "./fakes.js";
import { describeLastFence, LogOnlyAction, readLastFence, RebootAction } from "../src/index.js";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function host(): Promise<FakeHost> {
  const fake = await fakeHost();
  cleanups.push(() => fake.temp.remove());
  cleanups.push(fake.onPath());
  return fake;
}

/** The boot after the reset: another boot id. */
async function nextBoot(fake: FakeHost): Promise<string> {
  const file = fake.temp.file("boot_id.next");
  await writeFile(file, "99999999-8888-4777-8666-555555555555\n");
  return file;
}

describe("the last fence record", () => {
  it("after a reset, tells that the last reboot was hb's, with pool and reason", async () => {
    const fake = await host();
    await new RebootAction(contextFor(fake)).execute(decisionFor());
    const last = await readLastFence(fake.stateDir, { bootIdFile: await nextBoot(fake) });
    expect(last).toMatchObject({ thisBoot: false, record: { bootId: BOOT_ID, action: "hard-reboot" }, followUps: [], skippedLines: 0 });
    const words = describeLastFence(last!);
    expect(words).toMatch(
      /^The last reboot was hb's: pool-7f3a, reason 5 of 5 attempts failed: timeout \(hard-reboot by kvmspheartbeat\.sh on kvm-host-1 at .*, boot 11111111-2222-4333-8444-555555555555\)\.\n/,
    );
    expect(words).toContain("  state history:\n    60 s healthy → failing: attempt 1 timed out\n    400 s failing → dead: 5 of 5 attempts failed: timeout\n");
    expect(words).toContain("  last attempts: timeout 60 s, timeout 60 s\n");
  });

  it("in the same boot, says the host has not rebooted since", async () => {
    const fake = await host();
    await new RebootAction(contextFor(fake)).execute(decisionFor());
    const last = await readLastFence(fake.stateDir, { bootIdFile: fake.bootIdFile });
    expect(last?.thisBoot).toBe(true);
    expect(describeLastFence(last!)).toMatch(/^hb decided to fence during this boot, and the host has not rebooted since: pool-7f3a/);
  });

  it("reads the newest decision with its own follow-ups, and says a dry run did nothing", async () => {
    const fake = await host();
    await new RebootAction(contextFor(fake)).execute(decisionFor({ target: "older" }));
    await new RebootAction(contextFor(fake)).execute(decisionFor({ target: "newer", mode: "dry-run", dryRun: true, isFence: false }));
    const last = await readLastFence(fake.stateDir, { bootIdFile: await nextBoot(fake) });
    expect(last?.record.target).toBe("newer");
    expect(last?.followUps.map((line) => line.kind)).toEqual(["dry-run"]);
    expect(describeLastFence(last!)).toMatch(/^The last decision was a dry run \(nothing was done\): newer.*\n {2}then \(dry-run\): dry run: would write b to /);
  });

  it("says a non-fencing action was not a fence", async () => {
    const fake = await host();
    await new LogOnlyAction(contextFor(fake)).execute(decisionFor({ action: "log-only", isFence: false }));
    const last = await readLastFence(fake.stateDir, { bootIdFile: await nextBoot(fake) });
    expect(describeLastFence(last!)).toMatch(/^The last decision was log-only, which is NOT a fence \(the VMs kept running\)/);
  });

  it("skips a line torn by the reset, and finds nothing where nothing was recorded", async () => {
    const fake = await host();
    expect(await readLastFence(fake.stateDir)).toBeNull();
    await new RebootAction(contextFor(fake)).execute(decisionFor());
    await appendFile(`${fake.stateDir}/fence.jsonl`, '{"kind":"decision","id":"x","tar');
    const last = await readLastFence(fake.stateDir, { bootIdFile: fake.bootIdFile });
    expect(last).toMatchObject({ skippedLines: 1, record: { target: "pool-7f3a" } });
    expect(describeLastFence(last!)).toContain("(1 unreadable line(s) in");

    const empty = fake.temp.file("empty-state");
    await mkdir(empty);
    await writeFile(`${empty}/fence.jsonl`, "not json\n");
    expect(await readLastFence(empty)).toBeNull();
  });
});
