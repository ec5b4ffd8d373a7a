import { writeFile } from "node:fs/promises";
import { afterAll, describe, expect, it } from "vitest";
import type { ExecRequest, ExecResult, Executor } from "@hb/core";
import { makeTempDir } from "@hb/testkit";
import { discoverLibvirtPools, parsePoolXml } from "./pools.js";

const SMP_UUID = "9b2e7d1a-5c3f-4e8b-a1d2-3f4e5a6b7c8d";
const LOCAL_UUID = "1a2b3c4d-0000-4e8b-a1d2-3f4e5a6b7c8d";

// `virsh pool-dumpxml` of the agent's createSharedStoragePool: a dir pool named by its uuid.
const dirPool = (name: string, uuid: string, path: string) => `<pool type='dir'>
  <name>${name}</name>
  <uuid>${uuid}</uuid>
  <capacity unit='bytes'>1099511627776</capacity>
  <source>
  </source>
  <target>
    <path>${path}</path>
  </target>
</pool>`;

/** virsh at the port: pool-list names, pool-dumpxml answers from the map. */
function virsh(pools: Record<string, string>): Executor {
  const answer = (stdout: string): ExecResult => ({ exitCode: 0, signal: null, stdout, stderr: "", timedOut: false, durationMs: 1 });
  return {
    run: async (request: ExecRequest) => {
      if (request.args.includes("pool-list")) return answer(`${Object.keys(pools).join("\n")}\n`);
      const name = request.args.at(-1) ?? "";
      return answer(pools[name] ?? "");
    },
  };
}

const temp = await makeTempDir("hb-daemon-smp-");
afterAll(() => temp.remove());

describe("SharedMountPoint pools from libvirt", () => {
  it("reads the agent's dir pool (named by its uuid) as a SharedMountPoint candidate; an operator's named dir pool is not one", () => {
    expect(parsePoolXml(dirPool(SMP_UUID, SMP_UUID, "/mnt/gfs2"))).toEqual({ kind: "smp", id: SMP_UUID, mountPoint: "/mnt/gfs2", source: "libvirt" });
    expect(parsePoolXml(dirPool("default", SMP_UUID, "/var/lib/libvirt/images"))).toBeUndefined();
    expect(parsePoolXml(dirPool(SMP_UUID, SMP_UUID, "relative/path"))).toBeUndefined();
    expect(parsePoolXml(dirPool(SMP_UUID, SMP_UUID, "/mnt/../etc"))).toBeUndefined();
  });

  it("keeps the dir pool on a cluster filesystem and skips the agent's local storage pool", async () => {
    const mountsFile = temp.file("mounts");
    await writeFile(mountsFile, "/dev/sda1 / ext4 rw 0 0\n/dev/sdb1 /var/lib/libvirt/images xfs rw 0 0\n/dev/mapper/cluster /mnt/gfs2 gfs2 rw 0 0\n");
    const executor = virsh({ [SMP_UUID]: dirPool(SMP_UUID, SMP_UUID, "/mnt/gfs2"), [LOCAL_UUID]: dirPool(LOCAL_UUID, LOCAL_UUID, "/var/lib/libvirt/images") });
    expect(await discoverLibvirtPools(executor, 1000, { mountsFile })).toEqual([{ kind: "smp", id: SMP_UUID, mountPoint: "/mnt/gfs2", source: "libvirt" }]);
  });

  it("keeps watching a SharedMountPoint pool whose filesystem came unmounted (its heartbeat fails instead), but never starts watching one that is not mounted", async () => {
    const mountsFile = temp.file("mounts-gone");
    await writeFile(mountsFile, "/dev/sda1 / ext4 rw 0 0\n");
    const executor = virsh({ [SMP_UUID]: dirPool(SMP_UUID, SMP_UUID, "/mnt/gfs2") });
    expect(await discoverLibvirtPools(executor, 1000, { mountsFile })).toEqual([]);
    expect(await discoverLibvirtPools(executor, 1000, { mountsFile, knownSmp: new Set([SMP_UUID]) })).toEqual([{ kind: "smp", id: SMP_UUID, mountPoint: "/mnt/gfs2", source: "libvirt" }]);
  });
});
