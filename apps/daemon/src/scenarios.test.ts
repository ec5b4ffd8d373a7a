import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runScenario, type Scenario } from "../test/scenario-harness.js";

// hbd's own scenarios on the simulated clock, in the manner of core's: each timeline (hbd's log
// and every call to its watchdog) is diffed against its golden file. HB_UPDATE_GOLDEN=1
// rewrites them (review the diff before committing).
const dir = fileURLToPath(new URL("../test/scenarios/", import.meta.url));

// A decision at most 2 + 3 × 2 + 2 × 1 = 10 s after the last good heartbeat.
const TIMINGS = [
  "heartbeat.update.timeout=2000",
  "kvm.heartbeat.update.frequency=2000",
  "kvm.heartbeat.update.max.tries=3",
  "kvm.heartbeat.update.retry.sleep=1000",
  "kvm.heartbeat.fence.action=reboot",
  "hb.host.ip=10.0.0.5",
];

const SCENARIOS: Record<string, Scenario> = {
  // The event loop stuck (a lag past a tenth of the timeout): keepalives stop until it is not, so
  // a hung hbd is reset by the watchdog without any of its code running.
  "stuck-loop-withholds-keepalive": {
    properties: [...TIMINGS, "hb.pools=nfs:/mnt/pool-a"],
    steps: [
      [6_500, ({ lag, note }) => ((lag.p99Ms = 1_500), note("the event loop is stuck: p99 delay 1500 ms"))],
      [10_500, ({ daemon, note }) => note(`health: ${daemon.health().problems.join("; ")}`)],
      [11_500, ({ lag, note }) => ((lag.p99Ms = 4), note("the event loop runs freely again"))],
    ],
    endMs: 17_000,
  },
  // Maintenance suppresses the decision for a pool that dies inside it; past its end, the next
  // pool that dies is fenced for.
  "maintenance-expires": {
    properties: [...TIMINGS, "hb.pools=nfs:/mnt/pool-a;nfs:/mnt/pool-b"],
    steps: [
      [1_000, async ({ control, note }) => note(`maintenance-on for 15 s: ${JSON.stringify(await control({ op: "maintenance-on", ttlMs: 15_000, reason: "storage upgrade" }))}`)],
      [2_000, ({ hung, note }) => (hung.add("pool-a"), note("pool-a's writes hang"))],
      [16_500, ({ daemon, note }) => note(`maintenance: ${JSON.stringify(daemon.status().maintenance)}`)],
      [17_000, ({ hung, note }) => (hung.add("pool-b"), note("pool-b's writes hang"))],
    ],
    endMs: 30_000,
  },
  // Pools libvirt reports are added and dropped as it reports them; a discovery that fails keeps
  // the pools known, and says so in the health once it fails for good.
  "pools-come-and-go": {
    properties: [...TIMINGS, "hb.pools=nfs:/mnt/declared"],
    libvirt: [{ kind: "nfs", id: "lv-1", mountPoint: "/mnt/lv-1", source: "libvirt" }],
    steps: [
      [3_000, (world) => ((world.libvirt = [...(world.libvirt as []), { kind: "nfs", id: "lv-2", mountPoint: "/mnt/lv-2", source: "libvirt" }]), world.note("libvirt reports lv-2 too"))],
      [7_000, (world) => ((world.libvirt = [{ kind: "nfs", id: "lv-2", mountPoint: "/mnt/lv-2", source: "libvirt" }]), world.note("libvirt no longer reports lv-1"))],
      [11_000, (world) => ((world.libvirt = new Error("virsh timed out")), world.note("virsh stops answering"))],
      [18_500, ({ daemon, note }) => note(`pools: ${daemon.status().targets.map((target) => target.id).join(", ")}; health: ${daemon.health().problems.join("; ")}`)],
    ],
    endMs: 19_000,
  },
};

describe("hbd scenarios (simulated clock, golden timelines)", () => {
  it.each(Object.keys(SCENARIOS))("%s", async (name) => {
    const timeline = await runScenario(SCENARIOS[name] as Scenario);
    const expectedPath = `${dir}${name}.expected`;
    if (process.env.HB_UPDATE_GOLDEN === "1") await writeFile(expectedPath, timeline);
    expect(timeline).toBe(await readFile(expectedPath, "utf8"));
  });
});
