import { parseProperties, resolveConfig } from "@hb/config";
import { describe, expect, it } from "vitest";
import { nfsReaderSettings, nfsWriterSettings } from "./index.js";

const configOf = (text: string) => resolveConfig(parseProperties(text)).values;

describe("NFS settings", () => {
  it("gives a neighbour's check its deadline and the timing model's threshold", () => {
    expect(nfsReaderSettings(configOf(""))).toEqual({ mountsFile: "/proc/self/mounts", hostIp: null, checkTimeoutMs: 360_000, thresholdMs: 60_000, maxAgeMs: null });
    // hb.heartbeat.max.age longer than the agent's -t: the reader waits for it.
    const longer = nfsReaderSettings(configOf("kvm.heartbeat.update.frequency=30500\nhb.heartbeat.max.age=95000\nhb.host.ip=10.0.0.5\n"));
    expect(longer).toMatchObject({ thresholdMs: 95_000, maxAgeMs: 95_000, hostIp: "10.0.0.5" });
    expect(nfsReaderSettings(configOf("kvm.heartbeat.update.frequency=30500\n")).thresholdMs).toBe(30_000);
  });

  it("gives the writer its deadline and the round it records", () => {
    expect(nfsWriterSettings(configOf("heartbeat.update.timeout=15000\nkvm.heartbeat.update.frequency=20000\nkvm.heartbeat.update.max.tries=4\nhb.mounts.file=/tmp/mounts\n"))).toEqual({
      mountsFile: "/tmp/mounts",
      hostIp: null,
      writeTimeoutMs: 15_000,
      frequencyMs: 20_000,
      maxTries: 4,
    });
  });
});
