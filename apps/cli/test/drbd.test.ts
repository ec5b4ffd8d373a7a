import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type FakeController, type FakeDrbdsetup, makeFakeDrbdsetup, processExists, startController } from "@hb/testkit";
import { runHb } from "./harness.js";

const R1 = "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41";
const R2 = "cs-7b9e0d14-3a2f-4e6b-8c1d-5f4a2e9b7c30";
const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const exec = promisify(execFile);

let fake: FakeDrbdsetup;
let controller: FakeController;

beforeAll(async () => {
  controller = await startController();
});
afterAll(() => controller.close());
beforeEach(async () => {
  fake = await makeFakeDrbdsetup();
});
afterEach(async () => {
  for (const command of ["events2", "status", "show"] as const) {
    const pid = await fake.pidOf(command);
    if (pid !== undefined && processExists(pid)) process.kill(pid, "SIGKILL");
  }
  await fake.remove();
});

/** agent.properties pointing hb at the fake drbdsetup, plus extra lines. */
async function properties(extra = ""): Promise<string> {
  const path = fake.dir.file("agent.properties");
  await writeFile(path, `hb.drbd.drbdsetup=${fake.path}\nhb.drbd.node.name=kvm-a\n${extra}`);
  return path;
}

const hb = async (argv: string[], extra = "") => runHb([...argv, "--file", await properties(extra)]);

describe("hb drbd health", () => {
  it("prints the host verdict, then each resource with its verdict and evidence", async () => {
    await fake.answer("events2", { fixture: "two-node-healthy.events2.txt" });
    const { code, stdout, stderr } = await hb(["drbd", "health"]);
    expect([code, stderr]).toEqual([0, ""]);
    expect(stdout).toBe(
      [
        "kvm-a: healthy (2 resources, 1 Primary; nothing impaired)",
        `${R1}  Primary    healthy   may_promote:no promotion_score:10102; quorum held; local disk UpToDate; peer Connected (kvm-b)`,
        `${R2}  Secondary  healthy   may_promote:no promotion_score:10102; quorum held; local disk UpToDate; peer Connected (kvm-b)`,
        "",
      ].join("\n"),
    );
  });

  it("exits 0 for a degraded host and names the resync", async () => {
    await fake.answer("events2", { fixture: "resync-sync-target.events2.txt" });
    const { code, stdout } = await hb(["drbd", "health"]);
    expect(code).toBe(0);
    expect(stdout.split("\n")[1]).toBe(
      `${R1}  Primary  degraded  may_promote:no promotion_score:10001; volume 0: local disk Inconsistent, data served by UpToDate peer kvm-b; volume 0: resync from kvm-b, this host is the sync target, 61.08% done`,
    );
  });

  it("prints JSON with the verdict and each resource's evidence, and exits 1 for lost", async () => {
    await fake.answer("events2", { fixture: "quorum-lost-suspend-io.events2.txt" });
    const { code, stdout } = await hb(["drbd", "health", "--json"]);
    expect(code).toBe(1);
    const shown = JSON.parse(stdout);
    expect(shown).toMatchObject({ verdict: "lost", node: "kvm-a", source: "events2" });
    expect(shown.resources).toHaveLength(1);
    expect(shown.resources[0]).toMatchObject({ name: R1, role: "Primary", verdict: "lost", mayPromote: false, promotionScore: 0 });
    expect(shown.resources[0].evidence).toContainEqual({ field: "quorum", value: "no", volume: 0, verdict: "lost", text: "volume 0: no quorum while Primary: DRBD fails or freezes its writes" });
    expect(shown.resources[0].evidence).toContainEqual({ field: "suspended", value: "quorum", verdict: "lost", text: "I/O suspended for lack of quorum (on-no-quorum suspend-io): writes freeze" });
  });

  it("exits 2 and says drbdsetup could not be run when it hangs past heartbeat.update.timeout", async () => {
    await fake.answer("events2", { hang: true });
    const { code, stdout, stderr } = await hb(["drbd", "health"], "heartbeat.update.timeout=300\n");
    expect([code, stdout]).toEqual([2, ""]);
    expect(stderr).toBe(`hb: drbdsetup could not be run: ${fake.path} events2 --now --statistics: no answer within 300 ms (killed)\n`);
  });

  it("exits 2 for a non-zero exit, and for output it cannot read, saying which", async () => {
    await fake.answer("events2", { exit: 20, stderr: "Failed to modprobe drbd (No such file or directory)\n" });
    const failed = await hb(["drbd", "health", "--timeout", "5000"]);
    expect([failed.code, failed.stderr]).toEqual([
      2,
      `hb: drbdsetup could not be run: ${fake.path} events2 --now --statistics: exit code 20 (DRBD not available: is the drbd kernel module loaded?): Failed to modprobe drbd (No such file or directory)\n`,
    ]);
    await fake.answer("events2", { stdout: "exists resource name:r0 suspended:no\nexists -\n" });
    const unreadable = await hb(["drbd", "health"]);
    expect([unreadable.code, unreadable.stderr]).toEqual([2, "hb: the output of drbdsetup could not be read: drbdsetup events2 --now: line 1: resource line with no role: field\n"]);
  });
});

describe("hb drbd peer", () => {
  it("answers alive (0), dead (1) or unknown (3) from this host's DRBD connections", async () => {
    await fake.answer("status", { fixture: "peer-connecting.status.json" });
    const alive = await hb(["drbd", "peer", "kvm-b"]);
    expect([alive.code, alive.stdout]).toEqual([0, `kvm-b: alive (this host's DRBD connections)\n  ${R1}: connection to kvm-b Connected, peer role Secondary\n`]);
    const dead = await hb(["drbd", "peer", "kvm-c"]);
    expect([dead.code, dead.stdout]).toEqual([1, `kvm-c: dead (this host's DRBD connections)\n  ${R1}: connection to kvm-c Connecting, peer role Unknown\n`]);
    const unknown = await hb(["drbd", "peer", "kvm-d", "--json"]);
    expect(unknown.code).toBe(3);
    expect(JSON.parse(unknown.stdout)).toEqual({
      node: "kvm-d",
      answer: "unknown",
      decidedBy: "none",
      evidence: [{ source: "drbd", field: "connection", value: "none", text: "this host shares none of its 1 DRBD resources with kvm-d" }],
    });
  });

  it("lets the LINSTOR controller decide when no resource is shared", async () => {
    await fake.answer("status", { fixture: "three-node-tiebreaker.status.json" });
    const online = await hb(["drbd", "peer", "kvm-e"], `hb.linstor.controller=${controller.url}\n`);
    expect(online.code).toBe(0);
    expect(online.stdout).toContain("kvm-e: alive (the LINSTOR controller)");
    const offline = await hb(["drbd", "peer", "kvm-d"], `hb.linstor.controller=${controller.url}\n`);
    expect(offline.code).toBe(1);
  });

  it("answers for this host itself from its own health", async () => {
    await fake.answer("events2", { fixture: "quorum-lost-io-error.events2.txt" });
    const self = await hb(["drbd", "peer", "kvm-a"]);
    expect(self.code).toBe(1);
    expect(self.stdout.split("\n")[0]).toBe("kvm-a: dead (this host's own DRBD health)");
  });

  it("refuses a missing or malformed node name", async () => {
    const missing = await hb(["drbd", "peer"]);
    expect([missing.code, missing.stderr]).toEqual([2, "hb: usage: hb drbd peer NODE [--json] [--timeout MS] [--file F]\n"]);
    await fake.answer("status", { fixture: "peer-connecting.status.json" });
    const malformed = await hb(["drbd", "peer", "kvm-b;reboot"]);
    expect([malformed.code, malformed.stderr]).toEqual([2, 'hb: peer: "kvm-b;reboot" is not a DRBD/LINSTOR node name\n']);
  });
});

describe("hb drbd doctor", () => {
  it("warns about quorum off and differing quorum-loss policies, exits 1, and explains io-error and suspend-io", async () => {
    await fake.answer("show", { fixture: "show-unsafe.json" });
    const { code, stdout } = await hb(["drbd", "doctor"]);
    expect(code).toBe(1);
    expect(stdout).toContain(`${R1}: quorum off, on-no-quorum suspend-io, on-no-data-accessible io-error\n  WARNING: quorum off:`);
    expect(stdout).toContain("  WARNING: on-no-quorum suspend-io but on-no-data-accessible io-error: set both to the same value");
    expect(stdout).toContain("2 warning(s) in 3 resource(s).");
    expect(stdout).toContain("io-error or suspend-io, for VMs:\n  io-error: a Primary that loses quorum fails its writes at once.");
    expect((await fake.calls()).at(-1)).toBe("show --show-defaults --json");
  });

  it("exits 0 for safe options and 2 when the options cannot be read", async () => {
    await fake.answer("show", { fixture: "show-safe.json" });
    const safe = await hb(["drbd", "doctor"]);
    expect(safe.code).toBe(0);
    expect(safe.stdout).toContain("Nothing unsafe in 2 resource(s).");
    await fake.answer("show", { exit: 20, stderr: "drbdsetup show: unrecognized option '--json'\n" });
    const old = await hb(["drbd", "doctor"]);
    expect([old.code, old.stderr]).toEqual([
      2,
      `hb: drbdsetup could not be run: ${fake.path} show --show-defaults --json: exit code 20 (DRBD not available: is the drbd kernel module loaded?): drbdsetup show: unrecognized option '--json'\n`,
    ]);
  });
});

describe("hb drbd usage", () => {
  it("prints its usage for --help and refuses unknown commands", async () => {
    const help = await runHb(["drbd", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("hb drbd health [--json] [--timeout MS] [--file F]");
    expect((await runHb(["drbd"])).code).toBe(2);
    expect(await runHb(["drbd", "status"])).toMatchObject({ code: 2, stderr: "hb: unknown command: hb drbd status (hb drbd health|peer|doctor)\n" });
  });
});

// The one-shot CLI as an operator starts it: a hung drbdsetup must not hold the process past its deadline.
describe("bin/hb.js drbd health", () => {
  it("exits 2 once drbdsetup hangs past the deadline, and the hung drbdsetup is killed", async () => {
    await fake.answer("events2", { hang: true });
    const file = await properties("heartbeat.update.timeout=300\n");
    const failure = await exec(process.execPath, [bin, "drbd", "health", "--file", file]).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).toBe(2);
    expect(failure?.stderr).toContain("no answer within 300 ms (killed)");
    const pid = await fake.pidOf("events2");
    expect(pid).toBeDefined();
    // SIGKILLed before hb exited; its new parent reaps it a little later.
    for (let i = 0; i < 200 && processExists(pid ?? 0); i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(processExists(pid ?? 0)).toBe(false);
  });
});
