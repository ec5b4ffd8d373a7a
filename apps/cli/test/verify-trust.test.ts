// Only root can keep hb from fencing. A -c defers to hbd, or takes hbd's maintenance, only on an
// answer over hbd's control socket whose folder and socket belong to root and no one else may
// write. A stranger on the TCP status port (a real listener as uid 65534), a socket or folder
// another user could have planted, an answer that is not hbd's, and hb's own faults (a child
// that cannot start) all mean: no answer, said loudly, and the -c acts as configured.
import { spawn, spawnSync } from "node:child_process";
import { chmod, chown, mkdir, rm, symlink, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { parseProperties, resolveConfig } from "@hb/config";
import { ProcessExecutor, SystemClock, type ExecRequest, type Executor } from "@hb/core";
import { fakeControlSocket, type FakeControlSocket, type FenceHost, freePort, makeTempDir, otherUidUnavailableReason, roomyFenceHost, statusDocument, strangerOnStatusPort, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunDeps } from "../src/context.js";
import { verifyFence, type VerifyOutcome } from "../src/lib/fence-verify.js";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
const POOL = "/mnt/6e1b9a4c-pool";
const REBOOT = (script: string) => [`logger -t heartbeat -- ${script} will reboot system because it was unable to write the heartbeat to the storage.`, "s", "sync", "b"];
const healthyPool = { id: "pool-a", kind: "nfs", mountPoint: POOL, state: "healthy", armed: true, lastGoodAt: "2026-11-30T08:00:00.000Z", lastGoodAgeMs: 900, lastChange: null };
const linstor = { id: "drbd", kind: "linstor", state: "healthy", armed: true, lastGoodAt: "2026-11-30T08:00:00.000Z", lastGoodAgeMs: 900, lastChange: null };

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function runScript(host: FenceHost, args: readonly string[], wrapper: readonly string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const [file = process.execPath, ...rest] = [...wrapper, process.execPath];
  const child = spawn(file, [...rest, bin, "compat", ...args], { env: { ...process.env, PATH: host.path, AGENT_PROPS: host.properties }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => void (stdout += chunk));
  child.stderr.on("data", (chunk: Buffer) => void (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

describe("a stranger on the TCP status port", () => {
  it("claiming maintenance until 2099 and a healthy pool, as uid 65534: both -c entry points still fence", async (context) => {
    const unavailable = otherUidUnavailableReason();
    if (unavailable !== null) {
      console.warn(`skipped: ${unavailable}`);
      return context.skip(unavailable);
    }
    const host = await roomyFenceHost();
    cleanups.push(() => host.temp.remove());
    const stranger = await strangerOnStatusPort(await freePort(), statusDocument([healthyPool, linstor], { maintenance: { until: "2099-01-01T00:00:00.000Z" } }));
    cleanups.push(() => stranger.stop());
    expect(stranger.uid).toBe(65534);
    // It does answer as hbd would, on the port hb is configured with.
    expect(await (await fetch(`http://${stranger.listen}/status`)).json()).toMatchObject({ maintenance: { until: "2099-01-01T00:00:00.000Z" } });
    await host.writeProperties([`hb.status.listen=${stranger.listen}`]);

    expect(await runScript(host, ["kvmheartbeat", "-i", "10.0.0.1", "-p", "/export/primary", "-m", POOL, "-c"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(await host.eventNames()).toEqual(REBOOT("kvmheartbeat.sh"));
    expect(await runScript(host, ["kvmspheartbeat", "-c"])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect((await host.eventNames()).slice(4)).toEqual(REBOOT("kvmspheartbeat.sh"));
    const records = await host.records();
    expect(records.map((record) => record.kind)).toEqual(["decision", "decision"]);
    expect(records.every((record) => record.isFence === true)).toBe(true);
  });
});

describe("hbd's control socket: trusted only when root's and writable by no one else", () => {
  let temp: TempDir;
  let socket: FakeControlSocket | undefined;
  beforeEach(async () => {
    temp = await makeTempDir("hb-trust-");
  });
  afterEach(async () => {
    await socket?.close();
    socket = undefined;
    await temp.remove();
  });

  const deps = (executor: Executor = new ProcessExecutor()): RunDeps => ({
    stdout: () => undefined,
    stderr: () => undefined,
    env: {},
    version: "0.0.0-test",
    executor,
    clock: new SystemClock(),
  });
  const verify = (stateDir: string, executor?: Executor): Promise<VerifyOutcome> => {
    const config = resolveConfig(parseProperties(`hb.state.dir=${stateDir}\nhb.fence.step.timeout=3000\n`)).values;
    return verifyFence({ source: "kvmheartbeat.sh", target: POOL, storage: { kind: "nfs", mountPoint: POOL }, config }, deps(executor));
  };
  const hbdAnswering = async (stateDir: string, document = statusDocument([healthyPool])) => {
    socket = await fakeControlSocket(stateDir, () => document);
    return socket;
  };

  it("defers to an hbd that answers there, as root's socket in root's folder (the case every other one is measured against)", async () => {
    const state = temp.file("state");
    const hbd = await hbdAnswering(state);
    expect(await verify(state)).toMatchObject({ kind: "no-fence", outcome: "deferred", check: "hbd", detail: expect.stringContaining("pool-a healthy") });
    expect(hbd.requests).toEqual([{ op: "status" }]);
  });

  const untrusted: [name: string, plant: (state: string, socketPath: string) => Promise<unknown>, because: RegExp][] = [
    ["the folder owned by another user", (state) => chown(state, 65534, 65534), /state is owned by uid 65534, not root/],
    ["the socket owned by another user", (_state, path) => chown(path, 65534, 65534), /hbd\.sock is owned by uid 65534, not root/],
    ["a group-writable folder", (state) => chmod(state, 0o770), /state is writable by its group or others \(mode 0770\)/],
    ["an other-writable folder", (state) => chmod(state, 0o777), /mode 0777/],
    ["a socket open to others", (_state, path) => chmod(path, 0o666), /hbd\.sock is open to its group or others \(mode 0666; hbd makes it 0600\)/],
  ];
  for (const [name, plant, because] of untrusted) {
    it(`with ${name}: no deferral; acts, and says why loudly`, async (context) => {
      if (process.getuid?.() !== 0) return context.skip("changing owners needs root");
      const state = temp.file("state");
      const hbd = await hbdAnswering(state);
      await plant(state, hbd.path);
      const outcome = await verify(state);
      expect(outcome.kind).toBe("act");
      if (outcome.kind !== "act") return;
      expect(outcome.loud).toEqual([expect.stringMatching(/^hbd's control socket fails the ownership check, so its answer would prove nothing \(.*\): deciding here, as configured/)]);
      expect(outcome.loud[0]).toMatch(because);
      expect(outcome.evidence).toMatchObject({ hbd: { answered: false, failure: "untrusted" } });
      // Never asked: an answer from there proves nothing.
      expect(hbd.requests).toEqual([]);
    });
  }

  it("with the state folder a symbolic link (lstat, not followed): no deferral", async () => {
    const real = temp.file("real-state");
    await hbdAnswering(real);
    await symlink(real, temp.file("state"));
    const outcome = await verify(temp.file("state"));
    expect(outcome).toMatchObject({ kind: "act", loud: [expect.stringContaining("is not a folder (a symbolic link or another file)")] });
  });

  it("an answer that is not hbd's status, an error from hbd, or a status without `healthy`: no deferral", async () => {
    const state = temp.file("state");
    socket = await fakeControlSocket(state, () => ({ hello: "world" }));
    expect(await verify(state)).toMatchObject({ kind: "act", loud: [expect.stringContaining("answered with something that is not hbd's status")] });
    await socket.close();
    socket = await fakeControlSocket(state, () => `${JSON.stringify({ ok: false, error: "not running" })}\n`);
    expect(await verify(state)).toMatchObject({ kind: "act", loud: [expect.stringContaining("hbd refused: not running")] });
    await socket.close();
    socket = await fakeControlSocket(state, () => "garbage\n");
    expect(await verify(state)).toMatchObject({ kind: "act", loud: [expect.stringContaining("the answer is not JSON")] });
    await socket.close();
    // An hbd that does not say it is healthy cannot own the decision.
    const { healthy: _healthy, ...older } = statusDocument([healthyPool]);
    socket = await fakeControlSocket(state, () => older);
    expect(await verify(state)).toMatchObject({ kind: "act", loud: [expect.stringContaining("does not report itself healthy")] });
  });

  it("hb's own fault (the child that asks hbd cannot start: EMFILE): no deferral, said loudly", async () => {
    const state = temp.file("state");
    const hbd = await hbdAnswering(state);
    const real = new ProcessExecutor();
    // The Executor port reports what spawn reports when the process is out of descriptors.
    const starved: Executor = {
      run: (request: ExecRequest) =>
        request.file === process.execPath
          ? Promise.resolve({ exitCode: null, signal: null, stdout: "", stderr: `${request.file}: EMFILE`, timedOut: false, durationMs: 0, spawnError: "EMFILE" })
          : real.run(request),
    };
    const outcome = await verify(state, starved);
    expect(outcome).toMatchObject({ kind: "act", loud: [expect.stringMatching(/^hb could not ask hbd for its own reasons \(cannot start the control client \(EMFILE\)\)/)] });
    expect(hbd.requests).toEqual([]);
  });

  it.each(["null", "[]", "42", '"ok"', '{"ok":true}', '{"ok":true,"answer":"{}","pid":null}', '{"ok":false,"failure":"deferred","reason":"x","pid":{"read":false,"path":"p","reason":"r"}}'])(
    "a control client whose output is not its reply (%s): no deferral, said loudly, no crash",
    async (stdout) => {
      const state = temp.file("state");
      await hbdAnswering(state);
      const real = new ProcessExecutor();
      const broken: Executor = {
        run: (request: ExecRequest) =>
          request.file === process.execPath ? Promise.resolve({ exitCode: 0, signal: null, stdout, stderr: "", timedOut: false, durationMs: 1 }) : real.run(request),
      };
      expect(await verify(state, broken)).toMatchObject({ kind: "act", loud: [expect.stringMatching(/^hb could not ask hbd for its own reasons \(the control client exited with 0\)/)] });
    },
  );

  it("a missing state folder or socket is the drop-in mode: no deferral, nothing said", async () => {
    expect(await verify(temp.file("absent"))).toEqual({ kind: "act", notes: [], loud: [], evidence: expect.anything() });
    await mkdir(temp.file("state"), { mode: 0o700 });
    expect(await verify(temp.file("state"))).toEqual({ kind: "act", notes: [], loud: [], evidence: expect.anything() });
  });
});

describe("hb's own faults on the -c path", () => {
  // Real descriptor limits: from where hb cannot start the child that asks hbd (EMFILE) up to where
  // it can. Whatever the limit, a deferral rests on hbd's answer, never on hb's failure to ask.
  it("with descriptors short (prlimit --nofile), -c never defers without hbd's answer; where it cannot ask, it fences", async (context) => {
    if (spawnSync("prlimit", ["--version"], { stdio: "ignore" }).status !== 0) return context.skip("prlimit (util-linux) is not installed");
    const host = await roomyFenceHost();
    cleanups.push(() => host.temp.remove());
    await host.writeProperties([]);
    const hbd = await fakeControlSocket(host.stateDir, () => statusDocument([linstor]));
    cleanups.push(() => hbd.close());
    const outcomes: string[] = [];
    for (let limit = 20; limit <= 34; limit++) {
      await writeFile(host.events, "");
      await rm(`${host.stateDir}/fence.jsonl`, { force: true });
      const asked = hbd.requests.length;
      const script = await runScript(host, ["kvmspheartbeat", "-c"], ["prlimit", `--nofile=${limit}:${limit}`]);
      const events = await host.eventNames();
      const records = await host.records().catch(() => []);
      const deferred = records.some((record) => record.kind === "deferral");
      const heard = hbd.requests.slice(asked).some((request) => (request as { op?: string }).op === "status");
      if (deferred) expect(heard, `a deferral at --nofile=${limit} without hbd's answer`).toBe(true);
      const outcome = deferred ? "deferred" : events.includes("b") ? "fenced" : `hb could not run (exit ${script.code})`;
      if (!deferred && !heard && events.includes("b")) expect(script.code).toBe(0);
      outcomes.push(`${limit}: ${outcome}${heard ? " (hbd asked)" : ""}`);
    }
    console.info(`-c under descriptor limits: ${outcomes.join("; ")}`);
    // The limits cover both sides: somewhere hb could not ask hbd and fenced, somewhere it asked and deferred.
    expect(outcomes.some((line) => line.endsWith(": fenced"))).toBe(true);
    expect(outcomes.some((line) => line.includes("deferred (hbd asked)"))).toBe(true);
  });
});
