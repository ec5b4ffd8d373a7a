import { describe, expect, it } from "vitest";
import { hostIdOf, parseProperties, resolveConfig } from "./index.js";

const configOf = (text: string) => resolveConfig(parseProperties(text)).values;

describe("hostIdOf", () => {
  const addresses: Record<string, string> = { cloudbr1: "10.0.0.5" };
  const lookup = (device: string) => addresses[device];

  it("takes hb.host.ip first, else the IPv4 address of private.network.device", () => {
    expect(hostIdOf(configOf("hb.host.ip=10.9.9.9\nprivate.network.device=cloudbr1\n"), lookup)).toBe("10.9.9.9");
    expect(hostIdOf(configOf("private.network.device=cloudbr1\n"), lookup)).toBe("10.0.0.5");
  });

  it("has no id without either, or when the device has no IPv4 address", () => {
    expect(hostIdOf(configOf(""), lookup)).toBeUndefined();
    expect(hostIdOf(configOf("private.network.device=cloudbr9\n"), lookup)).toBeUndefined();
  });
});
