import { describe, expect, it } from "vitest";
import { parseDaemonArgs } from "./run.js";

describe("hbd arguments", () => {
  it("reads the file, the log level and the demo switch", () => {
    expect(parseDaemonArgs([])).toEqual({ kind: "run", file: undefined, logLevel: "info", demo: false });
    expect(parseDaemonArgs(["--file", "/etc/a.properties", "--log-level", "debug"])).toEqual({ kind: "run", file: "/etc/a.properties", logLevel: "debug", demo: false });
    expect(parseDaemonArgs(["--demo"])).toMatchObject({ kind: "run", demo: true });
  });

  it("names a bad flag or level instead of starting", () => {
    expect(parseDaemonArgs(["--bogus"])).toMatchObject({ kind: "usage-error" });
    expect(parseDaemonArgs(["--log-level", "loud"])).toEqual({ kind: "usage-error", message: "--log-level must be one of fatal, error, warn, info, debug, trace" });
    expect(parseDaemonArgs(["--version"])).toEqual({ kind: "version" });
  });
});
