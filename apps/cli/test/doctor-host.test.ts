// hb doctor reads the host from files named by settings: a mount table, kernel.sysrq, the sysrq
// trigger, the watchdog device and the agent's script folder, each given here by the test.
import { mkdir, writeFile } from "node:fs/promises";
import { freePort, makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

let temp: TempDir;
let scripts: string;

// A soft NFSv3 mount whose tries outlast heartbeat.update.timeout (20 s × 3 = 60 s) and whose
// longest block (20 + 40 + 60 s) ends before the decision bound (400 s).
const SANE_MOUNT = "10.0.0.5:/export/primary /mnt/7f3a9c2e-1111-2222-3333-444455556666 nfs rw,relatime,vers=3,rsize=1048576,wsize=1048576,namlen=255,soft,proto=tcp,timeo=200,retrans=2,sec=sys,mountaddr=10.0.0.5,mountvers=3,mountport=20048,mountproto=udp,local_lock=none,addr=10.0.0.5 0 0";

/** A host hb is happy with: the shims in the agent's folder, sysrq 1, the trigger present, a sane NFS pool. */
async function saneHost(overrides: Record<string, string> = {}, mountLines: readonly string[] = [SANE_MOUNT]): Promise<string> {
  const mounts = temp.file("mounts");
  await writeFile(mounts, `/dev/sda1 / ext4 rw,relatime 0 0\n${mountLines.join("\n")}\n`);
  await writeFile(temp.file("sysrq"), "1\n");
  await writeFile(temp.file("sysrq-trigger"), "");
  const settings: Record<string, string> = {
    "hb.state.dir": temp.file("state"),
    "hb.status.listen": `127.0.0.1:${await freePort()}`,
    "hb.mounts.file": mounts,
    "hb.sysrq.file": temp.file("sysrq"),
    "hb.fence.sysrq.trigger": temp.file("sysrq-trigger"),
    "kvm.scripts.dir": scripts,
    ...overrides,
  };
  const file = temp.file("agent.properties");
  await writeFile(file, `${Object.entries(settings).map(([key, value]) => `${key}=${value}`).join("\n")}\n`);
  return file;
}

interface HostJson {
  readonly problems: readonly string[];
  readonly host: {
    readonly nfs: { readonly pools: readonly Record<string, unknown>[] };
    readonly sysrq: Record<string, unknown>;
    readonly watchdog: Record<string, unknown>;
    readonly scripts: Record<string, unknown>;
  };
}

async function doctorJson(file: string, ...more: string[]): Promise<{ code: number; report: HostJson }> {
  const { code, stdout } = await runHb(["doctor", "--file", file, "--json", ...more]);
  return { code, report: JSON.parse(stdout) as HostJson };
}

beforeEach(async () => {
  temp = await makeTempDir("hb-doctor-host-");
  scripts = temp.file("kvm");
  await mkdir(scripts);
  expect((await runHb(["shims", "install", "--dir", scripts])).code).toBe(0);
});
afterEach(async () => {
  await temp.remove();
});

describe("hb doctor reads the host", () => {
  it("passes a sane host description, and finds the agent's script folder from kvm.scripts.dir without --dir", async () => {
    const file = await saneHost();
    const { code, stdout } = await runHb(["doctor", "--file", file]);
    expect(stdout).toContain(`agent script folder: ${scripts} (kvm.scripts.dir=${scripts})\n`);
    expect(stdout).toContain("NFS pool /mnt/7f3a9c2e-1111-2222-3333-444455556666: soft, vers=3, proto=tcp, timeo=200, retrans=2: a write gives up after 60 s–120 s\n");
    expect(stdout).toContain(`sysrq: kernel.sysrq=1 (reboot allowed, sync allowed); trigger ${temp.file("sysrq-trigger")} present\n`);
    expect(stdout).toContain("watchdog: hb.watchdog=none\n");
    expect(stdout).toMatch(/No problems\.\n$/);
    expect(code).toBe(0);

    const { report } = await doctorJson(file);
    expect(report.problems).toEqual([]);
    expect(report.host.nfs.pools).toEqual([
      expect.objectContaining({ mode: "soft", vers: "3", timeo: 200, retrans: 2, giveUpEarliestMs: 60_000, worstCaseBlockMs: 120_000, basis: "options", problems: [] }),
    ]);
    expect(report.host.sysrq).toMatchObject({ value: 1, allowsReboot: true, allowsSync: true });
    expect(report.host.scripts).toMatchObject({ agentDir: scripts, dir: scripts, matches: true });
  });

  it("flags a soft mount whose timeo × retrans gives up before heartbeat.update.timeout, with the fix", async () => {
    const mount = "10.0.0.5:/export/primary /mnt/pool-a nfs rw,vers=3,soft,proto=tcp,timeo=100,retrans=2,sec=sys 0 0";
    const { code, report } = await doctorJson(await saneHost({}, [mount]));
    expect(report.host.nfs.pools[0]).toMatchObject({ mode: "soft", giveUpEarliestMs: 30_000 });
    expect(report.problems).toEqual([
      expect.stringMatching(
        /^NFS pool \/mnt\/pool-a \(10\.0\.0\.5:\/export\/primary\) is soft with timeo=100,retrans=2: a write may fail with EIO after 30 s, before heartbeat\.update\.timeout \(60 s\), .*fix: timeo=200 /,
      ),
    ]);
    expect(code).toBe(1);
  });

  it("models an NFSv4 soft mount by what was measured, not by timeo × retrans, and says so", async () => {
    // The options ask for 30 + 60 s at most; the kernel took ~95 s.
    const mount = "10.0.0.5:/primary /mnt/pool-b nfs4 rw,vers=4.1,soft,proto=tcp,timeo=300,retrans=1,sec=sys 0 0";
    const { code, report } = await doctorJson(await saneHost({}, [mount]));
    expect(report.host.nfs.pools[0]).toMatchObject({ vers: "4.1", giveUpEarliestMs: 60_000, worstCaseBlockMs: 100_000, basis: "measured", note: expect.stringContaining("measured to return EIO only after 93–100 s") });
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
  });

  it("passes a hard mount, as CloudStack mounts primary storage, and says how hb bounds it", async () => {
    const mount = "10.0.0.5:/export/primary /mnt/pool-c nfs rw,vers=3,hard,proto=tcp,timeo=600,retrans=2,sec=sys 0 0";
    const { code, report } = await doctorJson(await saneHost({}, [mount]));
    expect(report.host.nfs.pools[0]).toMatchObject({ mode: "hard", worstCaseBlockMs: null, note: expect.stringMatching(/^mounted hard: .*cut at heartbeat.update.timeout \(60 s\).*decision bound \(400 s /) });
    expect(report.problems).toEqual([]);
    expect(code).toBe(0);
  });

  it("flags kernel.sysrq=0, and a missing sysrq trigger", async () => {
    const file = await saneHost();
    await writeFile(temp.file("sysrq"), "0\n");
    const { code, report } = await doctorJson(file);
    expect(report.host.sysrq).toMatchObject({ value: 0, allowsReboot: false, allowsSync: false });
    expect(report.problems).toEqual([expect.stringMatching(/^kernel\.sysrq=0 does not allow reboot \(128\) and sync \(16\), .*fix: sysctl -w kernel\.sysrq=1 /)]);
    expect(code).toBe(1);

    const masked = await saneHost({ "hb.fence.sysrq.trigger": temp.file("no-trigger") });
    await writeFile(temp.file("sysrq"), "16\n");
    const second = await doctorJson(masked);
    expect(second.report.problems).toEqual([
      `${temp.file("no-trigger")} does not exist (a kernel without CONFIG_MAGIC_SYSRQ?): the reset that hard-reboot ends in cannot happen`,
      expect.stringMatching(/^kernel\.sysrq=16 does not allow reboot \(128\), .*fix: sysctl -w kernel\.sysrq=144 /),
    ]);
  });

  it("flags hb.watchdog=device with no device, and never opens one that exists", async () => {
    const { code, report } = await doctorJson(await saneHost({ "hb.watchdog": "device", "hb.watchdog.device": temp.file("watchdog") }));
    expect(report.host.watchdog).toMatchObject({ mode: "device", found: "missing" });
    expect(report.problems).toEqual([expect.stringMatching(/^hb\.watchdog=device but .*watchdog does not exist: hbd cannot start its watchdog/)]);
    expect(code).toBe(1);
    // A character device (here /dev/null) passes on a stat; nothing is written to it.
    const present = await doctorJson(await saneHost({ "hb.watchdog": "device", "hb.watchdog.device": "/dev/null" }));
    expect(present.report.host.watchdog).toMatchObject({ found: "character device" });
    expect(present.report.problems).toEqual([]);
  });

  it("flags a --dir that is not the folder the agent runs its scripts from", async () => {
    const other = temp.file("elsewhere");
    await mkdir(other);
    expect((await runHb(["shims", "install", "--dir", other])).code).toBe(0);
    const { code, report } = await doctorJson(await saneHost(), "--dir", other);
    expect(report.host.scripts).toMatchObject({ agentDir: scripts, dir: other, matches: false });
    expect(report.problems).toEqual([`the agent runs its heartbeat scripts from ${scripts} (kvm.scripts.dir=${scripts}), not from ${other}: shims in ${other} are never run (pass --dir ${scripts}, or install the shims there)`]);
    expect(code).toBe(1);
  });
});
