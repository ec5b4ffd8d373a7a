import { describe, expect, it } from "vitest";
import { splitEventFields } from "./index.js";

describe("events2 fields", () => {
  it("splits on the first colon and skips tokens without one", () => {
    const line = "exists connection name:vm-101-disk-1 peer-node-id:1 conn-name:node2 connection:Connected role:Primary stray";
    const fields = splitEventFields(line.split(" ").slice(2));
    expect(fields.get("conn-name")).toBe("node2");
    expect(fields.get("connection")).toBe("Connected");
    expect(fields.has("stray")).toBe(false);
    expect(splitEventFields(["path:/dev/drbd:1000"]).get("path")).toBe("/dev/drbd:1000");
  });
});
