// The status endpoint against another local user: it holds hbd's port first, or opens 20 000
// idle connections to it. Neither may stop hbd, nor make it fence. Real hbd processes, real
// listeners and connections of uid 65534.
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { TempDir } from "@hb/testkit";
import { control, hbdWorkspace, processTestsUnavailable, runAsNobody, startHbd, TIMINGS, type HbdProcess } from "./hbd.js";

const unavailable = processTestsUnavailable();
if (unavailable !== null) console.warn(`hbd status endpoint tests skipped: ${unavailable}`);

const IDLE_CLIENTS = fileURLToPath(new URL("./idle-clients.mjs", import.meta.url));
const HOLD_PORT = fileURLToPath(new URL("./hold-port.mjs", import.meta.url));

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
});

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address !== null ? address.port : 0;
}

async function workspace(): Promise<{ temp: TempDir; properties: string[] }> {
  const { temp, pool, poolProperties } = await hbdWorkspace("hbd-status-");
  cleanup.push(() => temp.remove());
  return { temp, properties: [...TIMINGS, ...poolProperties, "hb.fence.dry.run=true", `hb.state.dir=${temp.file("state")}`, `hb.pools=nfs:${pool}`] };
}

function track(hbd: HbdProcess): HbdProcess {
  cleanup.push(() => hbd.stop());
  return hbd;
}

const okAttempts = (hbd: HbdProcess) => hbd.attempts().filter((line) => line.result === "ok").length;

describe.skipIf(unavailable !== null)("hbd's status endpoint against another local user", () => {
  it("20 000 idle connections from uid 65534 neither exhaust hbd's descriptors nor keep it from writing heartbeats", async () => {
    const { temp, properties } = await workspace();
    const port = await freePort();
    // A limit far below the attacker's connection count: without a cap, every accepted
    // connection is one of hbd's descriptors, and a heartbeat's child cannot start.
    const hbd = track(await startHbd(temp.file("agent.properties"), { properties: [...properties, `hb.status.listen=127.0.0.1:${port}`], nofile: 1024 }));
    await hbd.until("a good heartbeat", () => okAttempts(hbd) >= 1);

    // Two processes of 10 000 connections each: a process of uid 65534 may hold 20 000 descriptors here at most.
    const attackers = [0, 1].map(() => runAsNobody([process.execPath, IDLE_CLIENTS, String(port), "10000"], 10_500));
    for (const attacker of attackers) cleanup.push(() => attacker.child.kill("SIGKILL"));
    const opened = () => attackers.reduce((sum, attacker) => sum + Math.max(0, ...attacker.lines.map((line) => Number(/opened (\d+)/.exec(line)?.[1] ?? 0))), 0);
    await hbd.until(`20 000 connections made by uid 65534 (${attackers.map((attacker) => attacker.lines.at(-1) ?? "nothing said").join(", ")})`, () => opened() >= 20_000, 120_000);
    const attemptsAtAttack = hbd.attempts().length;
    const okAtAttack = okAttempts(hbd);
    let mostDescriptors = 0;
    // Five more rounds under attack.
    await hbd.until("five heartbeats under attack", () => {
      mostDescriptors = Math.max(mostDescriptors, hbd.openDescriptors());
      return okAttempts(hbd) >= okAtAttack + 5 || hbd.attempts().slice(attemptsAtAttack).some((line) => line.result !== "ok");
    }, 60_000);
    const underAttack = hbd.attempts().slice(attemptsAtAttack);
    expect(underAttack.filter((line) => line.result !== "ok").map((line) => `${String(line.result)}: ${String(line.message)}`)).toEqual([]);
    expect(hbd.logged(/^fence decision/)).toEqual([]);
    // The cap bounds hbd's descriptors, whatever the number of clients.
    expect(mostDescriptors).toBeLessThan(200);
    console.log(`hbd under 20 000 idle connections of uid 65534: at most ${mostDescriptors} descriptors open in hbd, ${underAttack.length} heartbeats, all ok`);

    for (const attacker of attackers) attacker.child.kill("SIGKILL");
    await Promise.all(attackers.map((attacker) => attacker.exited));
    // Once the clients are gone, the endpoint answers again.
    let answer = 0;
    await hbd.until("/healthz answering", () => {
      void fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).then(
        (response) => (answer = response.status),
        () => undefined,
      );
      return answer === 200;
    }, 30_000);
  }, 300_000);

  it("starts, protects and says so when uid 65534 holds the status port first; binds it once it is free", async () => {
    const { temp, properties } = await workspace();
    const port = await freePort();
    const holder = runAsNobody([process.execPath, HOLD_PORT, String(port)]);
    cleanup.push(() => holder.child.kill("SIGKILL"));
    const until = async (predicate: () => boolean) => {
      for (let i = 0; i < 200 && !predicate(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    };
    await until(() => holder.lines.includes("listening"));
    expect(holder.lines).toContain("listening");

    const hbd = track(await startHbd(temp.file("agent.properties"), { properties: [...properties, `hb.status.listen=127.0.0.1:${port}`] }));
    await hbd.until("a good heartbeat", () => okAttempts(hbd) >= 2);
    expect(hbd.logged(/NO STATUS ENDPOINT/).map((line) => line.msg)).toEqual([expect.stringMatching(/held by another process \(EADDRINUSE\)/)]);
    expect(hbd.stderr).toMatch(/WARNING no status endpoint/);

    const socket = temp.file("state/hbd.sock");
    const { result } = await control(socket, { op: "status" });
    expect(result).toMatchObject({
      healthy: false,
      statusEndpoint: { listen: `127.0.0.1:${port}`, bound: false, error: expect.stringMatching(/EADDRINUSE/) },
      targets: [{ state: "healthy" }],
    });
    expect((result as { healthProblems: string[] }).healthProblems.join("\n")).toMatch(/status endpoint 127\.0\.0\.1:\d+ not bound/);

    holder.child.kill("SIGKILL");
    await holder.exited;
    await hbd.until("the endpoint bound", () => hbd.logged(/^status endpoint bound/).length > 0, 30_000);
    const status = (await (await fetch(`http://127.0.0.1:${port}/status`)).json()) as { statusEndpoint: unknown; healthy: boolean };
    expect(status.statusEndpoint).toEqual({ listen: `127.0.0.1:${port}`, bound: true, error: null });
    expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
  }, 120_000);
});
