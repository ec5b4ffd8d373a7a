import { spawnSync } from "node:child_process";
import { ProcessExecutor, SystemClock } from "@hb/core/adapters";
import { faultFsUnavailableReason, mountFaultFs, UPSTREAM_WRITE_SCRIPT, type FaultFs } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NfsHeartbeatTarget } from "../src/index.js";

const unavailable = faultFsUnavailableReason();
if (unavailable !== null) console.warn(`SKIPPED: storage-nfs operation-count tests: ${unavailable}`);

const HEARTBEATS = 10;

// Every storage operation is a round trip to the server, and on slow NFS each one is time taken
// from the deadline: per heartbeat, hb must not ask the storage more than upstream's script does.
// Counted on a FUSE mount without attribute caching (upstream mounts NFS with noac).
describe.skipIf(unavailable !== null)("storage operations per heartbeat, hb beside upstream's kvmheartbeat.sh", () => {
  let faultFs: FaultFs;
  beforeEach(async () => {
    faultFs = await mountFaultFs({ noac: true });
  });
  afterEach(() => faultFs.unmount());

  const counted = async (run: () => Promise<void>) => {
    const before = faultFs.operations().total;
    await run();
    return faultFs.operations().total - before;
  };

  it("hb's heartbeats, record included, take no more operations than upstream's write", async () => {
    const upstream = () => {
      const result = spawnSync("bash", [UPSTREAM_WRITE_SCRIPT, faultFs.mountPoint, "10.0.0.6"], { encoding: "utf8" });
      expect(result.status).toBe(0);
    };
    upstream(); // the first write creates the file; the heartbeats after it are what repeats
    const upstreamOps = await counted(async () => {
      for (let i = 0; i < HEARTBEATS; i++) upstream();
    });

    const target = new NfsHeartbeatTarget({ id: "pool", mountPoint: faultFs.mountPoint, hostId: "10.0.0.5", executor: new ProcessExecutor(), clock: new SystemClock(), record: { bootId: "b1" } });
    const attempt = async (seq: number) => expect(await target.attempt({ seq, deadlineMs: 20_000, signal: new AbortController().signal })).toMatchObject({ ok: true });
    await attempt(0);
    const hbOps = await counted(async () => {
      for (let seq = 1; seq <= HEARTBEATS; seq++) await attempt(seq);
    });

    expect(upstreamOps).toBeGreaterThan(0);
    expect(hbOps).toBeLessThanOrEqual(upstreamOps);
  });
});
