import { expect, it } from "vitest";
import { controlSocketPath, pidFilePath } from "./paths.js";

it("puts hbd's control socket and pid file in its state directory", () => {
  expect(controlSocketPath("/var/lib/hb")).toBe("/var/lib/hb/hbd.sock");
  expect(pidFilePath("/var/lib/hb/")).toBe("/var/lib/hb/hbd.pid");
});
