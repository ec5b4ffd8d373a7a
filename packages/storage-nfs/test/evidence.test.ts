import { ProcessExecutor } from "@hb/core";
import { faultFsUnavailableReason, mountFaultFs, type FaultFs } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { checkVmActivity, judgeHeartbeat, neighbourLine, readHeartbeat, scanHeartbeats } from "../src/index.js";

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`SKIPPED: storage-nfs reader EIO tests: ${unavailable}`);

const HOST = "10.0.0.5";
const now = () => Math.floor(Date.now() / 1000);

// DESIGN rule 10: the reader's own I/O error is no evidence that the writer is dead. Real EIO
// from a FUSE mount, on a heartbeat that would otherwise be stale (the worst case: a DEAD
// verdict is one comparison away).
describe.skipIf(unavailable !== null)("readers facing EIO on a real FUSE mount cannot judge, never DEAD", () => {
  let faultFs: FaultFs;
  const executor = new ProcessExecutor();

  beforeEach(async () => {
    faultFs = await mountFaultFs({ files: { [`KVMHA/hb-${HOST}`]: `${now() - 600}\n`, [`KVMHA/hb-10.0.0.6`]: `${now() - 600}\n`, "vol-1": "disk" } });
  });
  afterEach(async () => {
    await faultFs.unmount();
  });

  it("the neighbour's read: EIO reading hb-<host> is 'cannot judge', and its line has no DEAD", async () => {
    await faultFs.setFault({ errno: 5, ops: ["read"] });
    const read = await readHeartbeat(faultFs.mountPoint, HOST, { executor, deadlineMs: 5_000 });
    expect(read).toEqual({ kind: "unreadable", message: "Input/output error" });
    const verdict = judgeHeartbeat(read, { nowEpochSeconds: now(), maxAgeSeconds: 60 });
    expect(verdict).toMatchObject({ verdict: "undecided", reason: "unreadable" });
    expect(neighbourLine(verdict, "/mnt/p/KVMHA//hb-10.0.0.5", 60)).not.toMatch(/DEAD/);
  });

  it("the activity check: EIO reading hb-<host> is 'cannot judge', though no volume was written since the suspect time", async () => {
    await faultFs.setFault({ errno: 5, ops: ["read"] });
    const result = await checkVmActivity({
      executor,
      mountPoint: faultFs.mountPoint,
      hostId: HOST,
      volumes: ["vol-1"],
      suspectTime: now() + 60,
      checkTime: String(now()),
      nowEpochSeconds: now(),
      deadlineMs: 5_000,
    });
    expect(result).toMatchObject({ decided: false, cause: "heartbeat-unreadable" });
  });

  it("the scan: hosts whose file fails with EIO cannot be judged; none is DEAD", async () => {
    await faultFs.setFault({ errno: 5, ops: ["read"] });
    const result = await scanHeartbeats({ executor, mountPoint: faultFs.mountPoint, nowEpochSeconds: now(), maxAgeSeconds: 60, deadlineMs: 5_000 });
    expect(result.heartbeats.map((h) => [h.host, h.verdict, h.reason])).toEqual([
      [HOST, "undecided", "unreadable"],
      ["10.0.0.6", "undecided", "unreadable"],
    ]);
  });
});
