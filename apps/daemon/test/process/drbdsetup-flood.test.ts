// A drbdsetup that floods its output, met by a real hbd process: drbdsetup found on hbd's PATH
// (as on a host), printing without end on stdout or stderr. hbd keeps running; each attempt
// fails naming the flood, with the child killed at the byte cap, never hbd.
import { afterEach, describe, expect, it } from "vitest";
import { makeFakeDrbdsetup } from "@hb/testkit";
import { control, hbdWorkspace, startHbd, TIMINGS, type LogLine } from "./hbd.js";

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await Promise.resolve(step()).catch(() => undefined);
});

describe("hbd with a drbdsetup that floods its output", () => {
  for (const stream of ["stdout", "stderr"] as const) {
    it(`keeps running through a round and its decision, each attempt failed as drbdsetup's overflow on ${stream}`, async () => {
      const { temp } = await hbdWorkspace("hbd-flood-");
      cleanup.push(() => temp.remove());
      const drbdsetup = await makeFakeDrbdsetup();
      cleanup.push(() => drbdsetup.remove());
      await drbdsetup.answer("events2", { fixture: "two-node-healthy.events2.txt" });
      const state = temp.file("state");
      const properties = [
        ...TIMINGS,
        "hb.pools=linstor:drbd",
        "kvm.heartbeat.fence.action=log-only",
        "hb.fence.dry.run=true",
        "hb.status.listen=127.0.0.1:0",
        `hb.state.dir=${state}`,
        `hb.fence.sysrq.trigger=${temp.file("sysrq-trigger")}`,
      ];
      const hbd = await startHbd(temp.file("agent.properties"), { properties, path: [drbdsetup.dir.path] });
      cleanup.push(() => hbd.stop());
      await hbd.until("a good heartbeat", () => hbd.attempts().some((line) => line.result === "ok"), 60_000);
      await drbdsetup.answer("events2", { flood: stream });
      const failed = () => hbd.attempts().filter((line: LogLine) => line.result !== "ok");
      // A whole round of tries: the pool is decided dead (log-only, dry run) and hbd still runs.
      await hbd.until("a decision after three failed attempts", () => failed().length >= 3 && hbd.logged(/^fence decision/).length > 0, 90_000);
      for (const attempt of failed().slice(0, 3)) {
        expect(attempt).toMatchObject({ result: "error", message: expect.stringMatching(new RegExp(`drbdsetup events2 .*printed more than \\d+ bytes on ${stream} \\(killed\\): not drbdsetup's answer`)) });
      }
      expect(hbd.child.exitCode).toBeNull();
      const { ok, result } = await control(`${state}/hbd.sock`, { op: "status" });
      expect(ok).toBe(true);
      expect(result.targets).toEqual([expect.objectContaining({ id: "drbd", state: "dead", consecutiveFailures: expect.any(Number) })]);
      expect(result.targets[0]?.lastChange.reason).toMatch(new RegExp(`drbdsetup events2 .*printed more than \\d+ bytes on ${stream} \\(killed\\)`));
      expect(await hbd.stop()).toBe("0");
    }, 120_000);
  }
});
