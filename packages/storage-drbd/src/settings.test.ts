import { parseProperties, resolveConfig } from "@hb/config";
import { describe, expect, it } from "vitest";
import { drbdSettings } from "./index.js";

const configOf = (text: string) => resolveConfig(parseProperties(text)).values;

describe("DRBD settings", () => {
  it("gives drbdsetup and LINSTOR queries their program, node name, controller and deadline", () => {
    expect(drbdSettings(configOf(""))).toEqual({ drbdsetup: "drbdsetup", nodeName: null, linstorController: null, deadlineMs: 60_000 });
    expect(drbdSettings(configOf("hb.drbd.drbdsetup=/usr/sbin/drbdsetup\nhb.drbd.node.name=kvm-a\nhb.linstor.controller=http://10.0.0.2:3370\nheartbeat.update.timeout=9000\n"))).toEqual({
      drbdsetup: "/usr/sbin/drbdsetup",
      nodeName: "kvm-a",
      linstorController: "http://10.0.0.2:3370",
      deadlineMs: 9_000,
    });
  });
});
