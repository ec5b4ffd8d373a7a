// hb status: hbd's status over its control socket (root's: it works when the TCP endpoint is not
// bound, and no other program can answer there), else from the read-only TCP endpoint, saying
// so; and what needs attention: an inconclusive pool, a stale configuration, an unbound endpoint.
import { writeFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fakeControlSocket, type FakeControlSocket, freePort, makeTempDir, statusDocument, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

let temp: TempDir;
let control: FakeControlSocket | undefined;
let server: Server | undefined;
beforeEach(async () => {
  temp = await makeTempDir("hb-status-");
});
afterEach(async () => {
  await control?.close();
  control = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
  await temp.remove();
});

const target = (fields: Record<string, unknown>) => ({
  kind: "nfs",
  state: "healthy",
  armed: true,
  lastGoodAt: "2026-11-30T08:00:01.000Z",
  lastGoodAgeMs: 1200,
  consecutiveFailures: 0,
  latencyMs: { p99: 9 },
  decisionAtTheLatest: "2026-11-30T08:06:41.000Z",
  lastChange: null,
  ...fields,
});

const DOCUMENT = statusDocument(
  [
    target({ id: "pool-a" }),
    target({ id: "pool-b", state: "inconclusive", consecutiveFailures: 0, lastChange: { reason: "cannot start the storage worker (EMFILE): hb's own fault" } }),
  ],
  {
    action: "reboot",
    fences: true,
    dryRun: false,
    watchdog: { mode: "none", armed: false },
    stuckChildren: 0,
    eventLoopLagP99Ms: 1.5,
    decisions: [],
    statusEndpoint: { listen: "127.0.0.1:9746", bound: false, error: "listen EADDRINUSE: address already in use 127.0.0.1:9746" },
    config: { path: "/etc/cloudstack/agent/agent.properties", loadedAt: "2026-11-30T07:00:00.000Z", stale: { since: "2026-11-30T08:00:00.000Z", reason: "cannot read /etc/cloudstack/agent/agent.properties: no such file" } },
  },
);

async function properties(lines: readonly string[]): Promise<string> {
  const file = temp.file("agent.properties");
  await writeFile(file, `${[`hb.state.dir=${temp.file("state")}`, ...lines].join("\n")}\n`);
  return file;
}

describe("hb status", () => {
  it("works over the control socket while the TCP endpoint is not bound, and shows what needs attention", async () => {
    control = await fakeControlSocket(temp.file("state"), () => DOCUMENT);
    const file = await properties([`hb.status.listen=127.0.0.1:${await freePort()}`]);
    const { code, stdout, stderr } = await runHb(["status", "--file", file]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(control.requests).toEqual([{ op: "status" }]);
    expect(stdout).toMatch(/^pool-a\s+nfs\s+healthy\s+yes\s+08:00:01\s+1\.2 s\s+9 ms\s+0\s+08:06:41$/m);
    expect(stdout).toMatch(/^pool-b\s+nfs\s+inconclusive\s+yes/m);
    expect(stdout).toContain("pool-b inconclusive: hb could not check it for its own reasons (cannot start the storage worker (EMFILE): hb's own fault); not a failed try of the storage\n");
    expect(stdout).toContain("configuration stale since 2026-11-30T08:00:00.000Z: cannot read /etc/cloudstack/agent/agent.properties: no such file (hbd keeps running on the configuration it had)\n");
    expect(stdout).toContain("status endpoint 127.0.0.1:9746 NOT bound: listen EADDRINUSE: address already in use 127.0.0.1:9746 (hbd runs; only root sees it, over the control socket)\n");
    const json = await runHb(["status", "--json", "--file", file]);
    expect(JSON.parse(json.stdout)).toEqual(DOCUMENT);
  });

  it("falls back to the read-only TCP endpoint when the control socket cannot be asked, and says so", async () => {
    server = createHttpServer((_request, response) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ ...DOCUMENT, statusEndpoint: undefined, config: undefined })));
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const listen = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { code, stdout, stderr } = await runHb(["status", "--file", await properties([`hb.status.listen=${listen}`])]);
    expect(code).toBe(0);
    expect(stderr).toBe(`hb: hbd's control socket: no ${temp.file("state")} (hbd has not run here); showing the read-only status endpoint http://${listen}/status instead\n`);
    expect(stdout).toMatch(/^pool-a\s+nfs\s+healthy/m);
    expect(stdout).not.toContain("configuration stale");
  });

  it("exits 2 naming both channels when neither answers", async () => {
    const port = await freePort();
    const { code, stderr } = await runHb(["status", "--file", await properties([`hb.status.listen=127.0.0.1:${port}`])]);
    expect(code).toBe(2);
    expect(stderr).toContain(`hbd does not answer at http://127.0.0.1:${port}/status`);
    expect(stderr).toContain(`and hbd's control socket: no ${temp.file("state")} (hbd has not run here)`);
  });

  it("shows a document with fields missing (an older or newer hbd) without failing", async () => {
    control = await fakeControlSocket(temp.file("state"), () => ({ targets: [{ id: "pool-a" }, "junk"], decisions: "none" }));
    const { code, stdout } = await runHb(["status", "--file", await properties([`hb.status.listen=127.0.0.1:${await freePort()}`])]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^pool-a\s+\?\s+-\s+no/m);
    expect(stdout).toContain("action ? (NOT a fence)");
  });

  // hbd's document as an older, newer or broken hbd may send it: what is there is shown, never a stack trace.
  it.each([
    ["no targets", { action: "reboot", fences: true }, []],
    ["targets null", { targets: null, decisions: null, vetoes: null, maintenance: null }, []],
    ["a target null", { targets: [null, { id: "pool-a", state: "healthy" }], vetoes: { vetoed: "many" } }, [/^pool-a\s+\?\s+healthy/m, /^1 pool entry of hbd's status unreadable \(not an object\): not shown$/m]],
    ["a target missing state and id", { targets: [{ kind: "nfs", lastGoodAgeMs: "old", latencyMs: null, lastChange: 7 }] }, [/^\?\s+nfs\s+-\s+no/m]],
    ["everything null", { targets: [{ id: null, kind: null, state: null, latencyMs: { p99: null }, lastGoodAt: null, consecutiveFailures: null }], watchdog: null, config: null, statusEndpoint: null, decisions: [null, 3], maintenance: "on" }, [/^\?\s+\?\s+-\s+no\s+-\s+-\s+-\s+-\s+-$/m, /maintenance \?/]],
    ["odd types", { targets: "pool-a", healthy: "yes", stuckChildren: "2", config: { stale: "yes" }, statusEndpoint: { bound: false, listen: 9746, error: { code: 1 } } }, [/^status endpoint \? NOT bound \(hbd runs;/m]],
  ])("%s: shows what there is (exit 0)", async (_name, document, expected) => {
    control = await fakeControlSocket(temp.file("state"), () => document);
    const { code, stdout, stderr } = await runHb(["status", "--file", await properties([`hb.status.listen=127.0.0.1:${await freePort()}`])]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/^POOL\s+KIND\s+STATE/);
    for (const pattern of expected) expect(stdout).toMatch(pattern);
  });

  it("prints control characters in pool names and reasons as escapes: hbd's document cannot forge a line", async () => {
    control = await fakeControlSocket(temp.file("state"), () =>
      statusDocument([target({ id: "pool\nDECISION pool-b → reboot, fences", state: "inconclusive", lastChange: { reason: "\u001b[2Jgone" } })]),
    );
    const { stdout } = await runHb(["status", "--file", await properties([`hb.status.listen=127.0.0.1:${await freePort()}`])]);
    expect(stdout).not.toMatch(/^DECISION/m);
    expect(stdout).not.toContain("\u001b");
    expect(stdout).toContain("pool\\nDECISION pool-b → reboot, fences inconclusive: hb could not check it for its own reasons (\\e[2Jgone)");
  });

  it("stops reading an endless answer on the status port past 4 MiB: a named error (exit 2), memory kept", async () => {
    server = createHttpServer((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      const chunk = `[${"0,".repeat(32_767)}`;
      const more = () => {
        while (!response.destroyed && response.write(chunk));
        if (!response.destroyed) response.once("drain", more);
      };
      more();
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const listen = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { code, stderr } = await runHb(["status", "--file", await properties([`hb.status.listen=${listen}`, "hb.fence.step.timeout=60000"])]);
    expect(code).toBe(2);
    expect(stderr).toContain(`hbd does not answer at http://${listen}/status: the answer is larger than 4194304 bytes: not hbd's status`);
  });
});
