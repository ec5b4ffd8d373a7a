// hb doctor: the deployment mode, the shims, and hbd, on real folders and sockets. The mode with a
// real hbd running is covered end to end in one-owner.test.ts.
import { spawnSync } from "node:child_process";
import { chmod, mkdir, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fakeControlSocket, type FakeControlSocket, freePort, makeTempDir, statusDocument, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

let temp: TempDir;
let scripts: string;
let server: Server | undefined;
let control: FakeControlSocket | undefined;

/** A status endpoint answering as hbd does (the status document's fields that -c and doctor read). */
async function statusEndpoint(targets: unknown[]): Promise<string> {
  server = createHttpServer((request, response) => {
    if (request.url === "/healthz") response.writeHead(200).end("ok\n");
    else response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ version: "0.1.0", maintenance: null, targets }));
  });
  await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A host description of its own (doctor-host.test.ts covers these): no NFS pool, sysrq 1, a trigger. */
async function properties(lines: readonly string[]): Promise<string> {
  const file = temp.file("agent.properties");
  await writeFile(temp.file("mounts"), "/dev/sda1 / ext4 rw 0 0\n");
  await writeFile(temp.file("sysrq"), "1\n");
  await writeFile(temp.file("sysrq-trigger"), "");
  const host = [`hb.mounts.file=${temp.file("mounts")}`, `hb.sysrq.file=${temp.file("sysrq")}`, `hb.fence.sysrq.trigger=${temp.file("sysrq-trigger")}`];
  await writeFile(file, `${[`hb.state.dir=${temp.file("state")}`, ...host, ...lines].join("\n")}\n`);
  return file;
}

const doctor = async (file: string, ...more: string[]) => runHb(["doctor", "--file", file, "--dir", scripts, ...more]);

beforeEach(async () => {
  temp = await makeTempDir("hb-doctor-");
  scripts = temp.file("kvm");
  await mkdir(scripts);
});
afterEach(async () => {
  await control?.close();
  control = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await temp.remove();
});

describe("hb doctor", () => {
  it("drop-in: the shims run this hb and no hbd is meant to run; exit 0", async () => {
    expect((await runHb(["shims", "install", "--dir", scripts])).code).toBe(0);
    const file = await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]);
    const { code, stdout } = await doctor(file);
    expect(stdout).toMatch(/^mode: drop-in — the agent's monitor drives; hb's shims correct and execute its -c\n/);
    expect(stdout).toContain(`shims: in place and running this hb in ${scripts}\n  kvmheartbeat.sh: hb's shim, runs this hb\n`);
    expect(stdout).toContain(`hbd: no answer on its control socket (no ${temp.file("state")} (hbd has not run here))`);
    expect(stdout).toMatch(/status endpoint: no answer \(http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED\)/);
    expect(stdout).toMatch(/-c verification: hb\.fence\.verify=drbd-quorum, within 48 s \(the agent kills -c at 60 s; the action answers within 11 s\)/);
    expect(stdout).toMatch(/No problems\.\n$/);
    expect(code).toBe(0);
  });

  it("none: upstream's scripts and no hbd; exit 1 naming each script", async () => {
    await writeFile(`${scripts}/kvmheartbeat.sh`, "#!/bin/bash\n# upstream\n");
    const file = await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]);
    const { code, stdout } = await doctor(file);
    expect(stdout).toMatch(/^mode: none — hb is not in the agent's path\n/);
    expect(stdout).toContain("  - kvmheartbeat.sh is not hb's shim: the agent runs upstream's script\n");
    expect(stdout).toContain(`  - kvmspheartbeat.sh is missing from ${scripts}\n`);
    expect(stdout).toContain("  - neither the shims nor hbd: the agent runs upstream's scripts");
    expect(code).toBe(1);
  });

  it("names shims that run another hb", async () => {
    expect((await runHb(["shims", "install", "--dir", scripts, "--hb", "/opt/old-hb/bin/hb"])).code).toBe(0);
    const { code, stdout } = await doctor(await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]));
    expect(stdout).toMatch(/^mode: drop-in/);
    expect(stdout).toContain("shims: NOT (all) in place");
    expect(stdout).toContain("  - kvmheartbeat.sh is hb's shim but runs another hb ('/opt/old-hb/bin/hb' compat kvmheartbeat \"$@\")");
    expect(code).toBe(1);
  });

  it("hbd-owned but hbd silent (its pid file left behind): the -c calls decide on their own; exit 1", async () => {
    expect((await runHb(["shims", "install", "--dir", scripts])).code).toBe(0);
    await mkdir(temp.file("state"));
    // A pid that is not running: hbd did not stop cleanly.
    await writeFile(temp.file("state/hbd.pid"), "2147483646\n");
    const { code, stdout } = await doctor(await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]));
    expect(stdout).toMatch(/^mode: hbd-owned — but hbd does not answer on its control socket, so the agent's -c decides on its own\n/);
    expect(stdout).toContain(`hbd.pid (pid 2147483646, gone)`);
    expect(stdout).toContain(`  - hbd is meant to run here but does not answer on its control socket (no ${temp.file("state")}/hbd.sock (hbd is not running)): the agent's -c decides on its own, and says so in syslog`);
    expect(code).toBe(1);
  });

  it("hbd-owned with upstream's scripts in place: two owners of the decision", async () => {
    await writeFile(`${scripts}/kvmheartbeat.sh`, "#!/bin/bash\n# upstream\n");
    const pool = { id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "healthy", armed: true };
    const listen = await statusEndpoint([pool]);
    control = await fakeControlSocket(temp.file("state"), () => statusDocument([pool]));
    const { code, stdout } = await doctor(await properties([`hb.status.listen=${listen}`]));
    expect(stdout).toMatch(/^mode: hbd-owned — hbd 0\.1\.0 runs the loop; the agent's -c defers to it for the 1 pool\(s\) it watches while their verdict is not dead\n/);
    expect(stdout).toContain(`hbd: answers on its control socket ${temp.file("state")}/hbd.sock, healthy; pools: pool-a nfs healthy`);
    expect(stdout).toContain("  - kvmheartbeat.sh is not hb's shim: the agent runs upstream's script, which fences on its own beside hbd (two owners of the decision)");
    expect(code).toBe(1);
  });

  it("lists -c's timing problems, and answers in JSON", async () => {
    expect((await runHb(["shims", "install", "--dir", scripts])).code).toBe(0);
    const file = await properties([`hb.status.listen=127.0.0.1:${await freePort()}`, "hb.fence.verify=storage", "hb.fence.verify.timeout=59000"]);
    const { code, stdout } = await doctor(file, "--json");
    const report = JSON.parse(stdout);
    expect(report).toMatchObject({ mode: "drop-in", shims: { inPlace: true }, hbd: { answered: false }, verify: { mode: "storage", deadlineMs: 48_000, configuredMs: 59_000 } });
    expect(report.problems).toEqual([expect.stringMatching(/^verify-fits-agent-timeout: /), expect.stringMatching(/^fence-verify-storage: /)]);
    expect(code).toBe(1);
  });

  it("says where the script folder is missing", async () => {
    const { code, stdout } = await runHb(["doctor", "--file", await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]), "--dir", temp.file("nope")]);
    expect(stdout).toContain(`shims: ${temp.file("nope")} is not a folder (pass --dir: the agent's script folder)`);
    expect(code).toBe(1);
  });

  // hb.status.listen is any local user's to take: doctor never tells that -c defers on its answer.
  it("something answering as hbd on the status port only: no deferral is promised, and doctor says what -c relies on; exit 1", async () => {
    expect((await runHb(["shims", "install", "--dir", scripts])).code).toBe(0);
    const listen = await statusEndpoint([{ id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "healthy", armed: true }]);
    const { code, stdout } = await doctor(await properties([`hb.status.listen=${listen}`]));
    expect(stdout).toMatch(/^mode: hbd-owned — but hbd does not answer on its control socket, so the agent's -c decides on its own\n/);
    expect(stdout).not.toContain("defers to it");
    expect(stdout).toContain(`status endpoint: answers at ${listen} (read-only, for people and Prometheus: never a reason not to fence)`);
    expect(stdout).toContain("  - hbd is meant to run here but does not answer on its control socket");
    expect(code).toBe(1);
  });

  it("a control socket that fails the ownership check, an unbound status endpoint and a stale configuration are problems", async (context) => {
    if (process.getuid?.() !== 0) return context.skip("the ownership check is root's");
    expect((await runHb(["shims", "install", "--dir", scripts])).code).toBe(0);
    const pool = { id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "healthy", armed: true };
    const more = {
      statusEndpoint: { listen: "127.0.0.1:9746", bound: false, error: "EADDRINUSE" },
      config: { path: "/etc/cloudstack/agent/agent.properties", loadedAt: "2026-11-30T08:00:00.000Z", stale: { since: "2026-11-30T09:00:00.000Z", reason: "cannot read the file: no such file" } },
    };
    control = await fakeControlSocket(temp.file("state"), () => statusDocument([pool], more));
    const file = await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]);
    const ok = await doctor(file);
    expect(ok.stdout).toContain("  - hbd could not bind its status endpoint 127.0.0.1:9746 (EADDRINUSE): hbd runs, but Prometheus and hb status without root see nothing");
    expect(ok.stdout).toContain("  - hbd's configuration is stale since 2026-11-30T09:00:00.000Z: cannot read the file: no such file (hbd keeps the configuration it had)");
    await chmod(temp.file("state"), 0o775);
    const { code, stdout } = await doctor(file);
    expect(stdout).toContain(`hbd: no answer on its control socket (${temp.file("state")} is writable by its group or others (mode 0775))`);
    expect(stdout).toContain(
      `  - hbd's control socket fails the ownership check (${temp.file("state")} is writable by its group or others (mode 0775)): the agent's -c never defers to an answer from it; it must be root's, mode 0600, in a folder only root may write`,
    );
    expect(code).toBe(1);
  });

  it("a FIFO planted as hbd.pid neither stalls the question to hbd nor is read: hbd's answer still counts", async () => {
    const pool = { id: "pool-a", kind: "nfs", mountPoint: "/mnt/pool-a", state: "healthy", armed: true };
    control = await fakeControlSocket(temp.file("state"), () => statusDocument([pool]));
    expect(spawnSync("mkfifo", [temp.file("state/hbd.pid")]).status).toBe(0);
    const { stdout } = await doctor(await properties([`hb.status.listen=127.0.0.1:${await freePort()}`, "hb.fence.step.timeout=1500"]));
    expect(stdout).toContain(`hbd: answers on its control socket ${temp.file("state")}/hbd.sock, healthy; pools: pool-a nfs healthy`);
    expect(control.requests).toEqual([{ op: "status" }]);
  });
});
