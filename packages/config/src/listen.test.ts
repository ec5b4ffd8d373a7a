import { describe, expect, it } from "vitest";
import { parseStatusListen, statusListenProblem } from "./index.js";

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
