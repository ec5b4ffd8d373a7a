import { parseDeclaredPools as parseDeclaredPoolsOfConfig } from "@hb/config";
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

  it("reads hb.pools with @hb/config's parser, the one hb config validate reports with (its cases: config's pools.test.ts)", () => {
    expect(parseDeclaredPools).toBe(parseDeclaredPoolsOfConfig);
  });
});
