import { hostname } from "node:os";
import { ProcessExecutor, type ExecRequest, type ExecResult, type Executor } from "@hb/core";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { checkPeer, HttpLinstorNodes, judgePeerFromDrbd, parseStatusJson, resolveNodeName, STATUS_ARGS } from "../src/index.js";
import { drbdFixture, makeFakeDrbdsetup, startController, type FakeController, type FakeDrbdsetup } from "@hb/testkit";

const executor = new ProcessExecutor();
let fake: FakeDrbdsetup;
let controller: FakeController;

beforeAll(async () => {
  fake = await makeFakeDrbdsetup();
  controller = await startController();
});
afterAll(async () => {
  await controller.close();
  await fake.remove();
});
beforeEach(() => {
  controller.mode = { kind: "nodes" };
  controller.requests.length = 0;
});

const statusOf = async (name: string) => parseStatusJson(await drbdFixture(`${name}.status.json`));

describe("judgePeerFromDrbd", () => {
  it("is alive when any shared resource is Connected to the peer, in any case of its name", async () => {
    const verdict = judgePeerFromDrbd(await statusOf("two-node-healthy"), "kvm-b");
    expect(verdict).toMatchObject({ answer: "alive", decidedBy: "drbd" });
    expect(verdict.evidence.map((fact) => fact.text)).toEqual([
      "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41: connection to kvm-b Connected, peer role Secondary",
      "cs-7b9e0d14-3a2f-4e6b-8c1d-5f4a2e9b7c30: connection to kvm-b Connected, peer role Primary",
    ]);
    expect(judgePeerFromDrbd(await statusOf("two-node-healthy"), "KVM-B").answer).toBe("alive");
  });

  it("is dead when it shares resources but none is connected (Connecting, StandAlone)", async () => {
    expect(judgePeerFromDrbd(await statusOf("peer-connecting"), "kvm-c")).toMatchObject({
      answer: "dead",
      evidence: [{ source: "drbd", resource: "cs-1f3a6c52-8d3e-4c4b-9a57-2b8f6e1d0c41", field: "connection", value: "Connecting" }],
    });
    expect(judgePeerFromDrbd(await statusOf("peer-standalone"), "kvm-b").answer).toBe("dead");
    expect(judgePeerFromDrbd(await statusOf("quorum-lost-suspend-io"), "kvm-b").answer).toBe("dead");
  });

  it("is unknown, not dead, when no resource is shared with the peer", async () => {
    expect(judgePeerFromDrbd(await statusOf("three-node-tiebreaker"), "kvm-d")).toEqual({
      node: "kvm-d",
      answer: "unknown",
      decidedBy: "none",
      evidence: [{ source: "drbd", field: "connection", value: "none", text: "this host shares none of its 1 DRBD resources with kvm-d" }],
    });
  });
});

describe("checkPeer", () => {
  const options = (node: string, extra: { linstor?: HttpLinstorNodes; nodeName?: string; deadlineMs?: number } = {}) => ({
    executor,
    drbdsetup: fake.path,
    deadlineMs: extra.deadlineMs ?? 5_000,
    node,
    ...(extra.linstor === undefined ? {} : { linstor: extra.linstor }),
    ...(extra.nodeName === undefined ? {} : { nodeName: extra.nodeName }),
  });

  it("reads `drbdsetup status --json` and does not ask the controller when DRBD answers", async () => {
    await fake.answer("status", { fixture: "peer-connecting.status.json" });
    const linstor = new HttpLinstorNodes(controller.url);
    expect((await checkPeer(options("kvm-b", { linstor }))).answer).toBe("alive");
    expect((await checkPeer(options("kvm-c", { linstor }))).answer).toBe("dead");
    expect(controller.requests).toEqual([]);
    expect((await fake.calls()).at(-1)).toBe(STATUS_ARGS.join(" "));
  });

  it("asks the LINSTOR controller only when no resource is shared: ONLINE alive, OFFLINE dead, other unknown", async () => {
    await fake.answer("status", { fixture: "three-node-tiebreaker.status.json" });
    const linstor = new HttpLinstorNodes(`${controller.url}/`);
    const online = await checkPeer(options("kvm-e", { linstor }));
    expect(online).toMatchObject({ answer: "alive", decidedBy: "linstor" });
    expect(online.evidence[1]).toEqual({
      source: "linstor",
      field: "connection_status",
      value: "ONLINE",
      text: `${controller.url}/v1/nodes: kvm-e connection_status ONLINE: its satellite answers the controller (controller only: no DRBD connection confirms it)`,
    });
    expect(await checkPeer(options("kvm-d", { linstor }))).toMatchObject({ answer: "dead", decidedBy: "linstor" });
    expect(await checkPeer(options("kvm-f", { linstor }))).toMatchObject({ answer: "unknown", decidedBy: "none", evidence: [{}, { value: "VERSION_MISMATCH" }] });
    expect(await checkPeer(options("kvm-z", { linstor }))).toMatchObject({ answer: "unknown", evidence: [{}, { value: "(not listed)" }] });
    expect(controller.requests).toEqual(Array(4).fill({ method: "GET", path: "/v1/nodes", accept: "application/json" }));
  });

  it("stays unknown, with the reason, when the controller does not answer in time or cannot be read", async () => {
    await fake.answer("status", { fixture: "three-node-tiebreaker.status.json" });
    const linstor = new HttpLinstorNodes(controller.url);
    const reasonFor = async (mode: FakeController["mode"]) => {
      controller.mode = mode;
      const verdict = await checkPeer(options("kvm-e", { linstor, deadlineMs: 300 }));
      expect(verdict.answer).toBe("unknown");
      return verdict.evidence[1]?.text;
    };
    expect(await reasonFor({ kind: "hang" })).toBe(`LINSTOR controller ${controller.url}/v1/nodes: no answer within 300 ms`);
    expect(await reasonFor({ kind: "status", status: 500 })).toBe(`LINSTOR controller ${controller.url}/v1/nodes: HTTP 500 Internal Server Error`);
    expect(await reasonFor({ kind: "garbage" })).toMatch(/^LINSTOR controller .*: answer is not JSON/);
    expect(await reasonFor({ kind: "nodes", body: '{"nodes": []}' })).toMatch(/answer is not a node list/);
  });

  it("stays unknown when the controller is unreachable or its URL is not one", async () => {
    await fake.answer("status", { fixture: "three-node-tiebreaker.status.json" });
    const closed = await startController();
    await closed.close();
    const refused = await checkPeer(options("kvm-e", { linstor: new HttpLinstorNodes(closed.url) }));
    expect(refused).toMatchObject({ answer: "unknown", evidence: [{}, { text: `LINSTOR controller ${closed.url}/v1/nodes: unreachable: ECONNREFUSED` }] });
    const invalid = await checkPeer(options("kvm-e", { linstor: new HttpLinstorNodes("controller:3370") }));
    expect(invalid.evidence[1]?.text).toBe("LINSTOR controller controller:3370: hb.linstor.controller is not an http(s) URL");
  });

  it("answers for this host from its own DRBD health, as upstream's self check does", async () => {
    await fake.answer("events2", { fixture: "resync-sync-target.events2.txt" });
    expect(await checkPeer(options("KVM-A", { nodeName: "kvm-a" }))).toMatchObject({ answer: "alive", decidedBy: "self", evidence: [{ source: "self", value: "degraded" }] });
    await fake.answer("events2", { fixture: "quorum-lost-io-error.events2.txt" });
    expect((await checkPeer(options("kvm-a", { nodeName: "kvm-a" }))).answer).toBe("dead");
  });

  it("throws, rather than answering dead, when drbdsetup fails or the name is not a node name", async () => {
    await fake.answer("status", { exit: 20, stderr: "Failed to modprobe drbd (No such file or directory)\n" });
    await expect(checkPeer(options("kvm-b"))).rejects.toMatchObject({ code: "DRBD_COMMAND", failure: "exit", exitCode: 20 });
    await fake.answer("status", { stdout: "[\n{\n" });
    await expect(checkPeer(options("kvm-b"))).rejects.toMatchObject({ code: "DRBD_OUTPUT" });
    await expect(checkPeer(options("kvm-b; reboot"))).rejects.toMatchObject({ code: "DRBD_NODE_NAME", message: 'peer: "kvm-b; reboot" is not a DRBD/LINSTOR node name' });
  });
});

describe("resolveNodeName", () => {
  it("takes hb.drbd.node.name when set, else the output of hostname run as a child process", async () => {
    expect(await resolveNodeName({ executor, configured: " kvm-a ", deadlineMs: 1_000 })).toBe("kvm-a");
    expect(await resolveNodeName({ executor, configured: null, deadlineMs: 5_000 })).toBe(hostname());
  });

  it("names the problem when hostname fails or the name is not one", async () => {
    const failing: Executor = {
      run: async (request: ExecRequest): Promise<ExecResult> => ({ exitCode: 1, signal: null, stdout: "", stderr: `${request.file}: name lookup failed\n`, timedOut: false, durationMs: 3 }),
    };
    await expect(resolveNodeName({ executor: failing, configured: null, deadlineMs: 1_000 })).rejects.toMatchObject({
      code: "DRBD_NODE_NAME",
      message: "cannot find this host's DRBD node name: hostname: exit code 1: hostname: name lookup failed; set hb.drbd.node.name",
    });
    await expect(resolveNodeName({ executor, configured: "kvm a", deadlineMs: 1_000 })).rejects.toMatchObject({ code: "DRBD_NODE_NAME" });
  });
});
