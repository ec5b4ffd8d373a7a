import { isIP } from "node:net";
import { describe, expect, it } from "vitest";
import { isLoopbackHost, parseStatusListen, statusListenProblem } from "./index.js";

describe("hb.status.listen as hbd binds it", () => {
  it("gives host and port of a loopback address, IPv6 without its brackets", () => {
    expect(parseStatusListen(" 127.0.0.1:9746 ", false)).toEqual({ host: "127.0.0.1", port: 9746 });
    expect(parseStatusListen("[::1]:0", false)).toEqual({ host: "::1", port: 0 });
    expect(parseStatusListen("0.0.0.0:9746", true)).toEqual({ host: "0.0.0.0", port: 9746 });
  });

  it("throws STATUS_LISTEN naming the value for garbage and for a remote address without leave", () => {
    expect(() => parseStatusListen("127.0.0.1:99999", true)).toThrow(expect.objectContaining({ code: "STATUS_LISTEN", message: "hb.status.listen=127.0.0.1:99999: expected HOST:PORT, e.g. 127.0.0.1:9746" }));
    expect(() => parseStatusListen("0.0.0.0:9746", false)).toThrow(expect.objectContaining({ code: "STATUS_LISTEN", message: expect.stringMatching(/not a loopback address/) }));
    expect(statusListenProblem("[127.0.0.1]:9746", true)).toMatch(/expected HOST:PORT/);
    expect(statusListenProblem("localhost:9746", false)).toBeUndefined();
  });
});

describe("the IPv4 check without node:net", () => {
  // Every dotted quad net.isIP takes, and only those: the loopback rule (a remote status endpoint
  // needs leave) must not move now that the check is done without loading node:net.
  it("calls a host loopback exactly when net.isIP takes it as IPv4 under 127/8", () => {
    const octets = ["0", "1", "9", "10", "01", "99", "100", "127", "199", "200", "249", "250", "255", "256", "300", "-1", "1a", "", " 1"];
    const hosts = octets.flatMap((a) => octets.map((b) => `127.${a}.${b}.1`));
    hosts.push("127.0.0.1", "127.1", "127.0.0", "127.0.0.1.5", "127.0.0.1\n", "\u0661\u0662\u0667.0.0.1", "１27.0.0.1", "127.0.0.1%lo", "::ffff:127.0.0.1");
    for (const host of hosts) expect(isLoopbackHost(host), JSON.stringify(host)).toBe(isIP(host) === 4 && host.startsWith("127."));
    expect(statusListenProblem("127.0.0.1:9746", false)).toBeUndefined();
    expect(statusListenProblem("127.0.0.01:9746", false)).toBe("not a loopback address; set hb.status.allow.remote=true to expose it");
  });
});
