import { describe, expect, it } from "vitest";
import { parseDeclaredPools, parsePoolXml } from "./pools.js";

// `virsh pool-dumpxml` of a CloudStack NFS primary storage pool (libvirt's netfs format).
const NETFS = `<pool type='netfs'>
  <name>4f1c2a6e-8d1b-3c51-9a33-0b8e2c2f1d7e</name>
  <uuid>4f1c2a6e-8d1b-3c51-9a33-0b8e2c2f1d7e</uuid>
  <capacity unit='bytes'>2199023255552</capacity>
  <allocation unit='bytes'>412316860416</allocation>
  <available unit='bytes'>1786706395136</available>
  <source>
    <host name='10.0.0.2'/>
    <dir path='/export/primary'/>
    <format type='nfs'/>
  </source>
  <target>
    <path>/mnt/4f1c2a6e-8d1b-3c51-9a33-0b8e2c2f1d7e</path>
    <permissions>
      <mode>0755</mode>
      <owner>0</owner>
      <group>0</group>
    </permissions>
  </target>
</pool>`;

describe("pools", () => {
  it("reads an NFS pool from libvirt's XML", () => {
    expect(parsePoolXml(NETFS)).toEqual({
      kind: "nfs",
      id: "4f1c2a6e-8d1b-3c51-9a33-0b8e2c2f1d7e",
      mountPoint: "/mnt/4f1c2a6e-8d1b-3c51-9a33-0b8e2c2f1d7e",
      server: "10.0.0.2",
      export: "/export/primary",
      source: "libvirt",
    });
  });

  it("ignores local, RBD and other pool types", () => {
    expect(parsePoolXml(`<pool type='dir'><name>x</name><target><path>/var/lib/libvirt/images</path></target></pool>`)).toBeUndefined();
    expect(parsePoolXml(`<pool type="rbd"><name>ceph</name><source><host name='mon1'/></source></pool>`)).toBeUndefined();
  });

  it("parses declared pools and reports the bad entries, keeping the rest", () => {
    const { pools, problems } = parseDeclaredPools(" nfs:/mnt/aa ; nfs:/mnt/bb@10.0.0.2:/export/p;linstor:linstor-a; ftp:/x; nfs:relative; nfs:/mnt/cc@host; nfs:/mnt/aa");
    expect(pools).toEqual([
      { kind: "nfs", id: "aa", mountPoint: "/mnt/aa", source: "declared" },
      { kind: "nfs", id: "bb", mountPoint: "/mnt/bb", server: "10.0.0.2", export: "/export/p", source: "declared" },
      { kind: "linstor", id: "linstor-a", source: "declared" },
    ]);
    expect(problems.map((p) => p.entry)).toEqual(["ftp:/x", "nfs:relative", "nfs:/mnt/cc@host", "aa"]);
    expect(parseDeclaredPools(null)).toEqual({ pools: [], problems: [] });
  });
});
