import { describe, expect, it } from "vitest";
import { ERROR_CODES, HbError, isErrorCode, isHbError } from "./index.js";

class ExampleError extends HbError {
  constructor(message: string, cause: unknown) {
    super("CONFIG_FILE", message, { cause });
  }
}

describe("HbError", () => {
  it("keeps its code, message and cause, and is named after its class", () => {
    const cause = new Error("EACCES");
    const error = new ExampleError("cannot read agent.properties", cause);
    expect(error).toMatchObject({ code: "CONFIG_FILE", message: "cannot read agent.properties", name: "ExampleError", cause });
  });

  it("is recognised by shape, so a second copy of the package still counts as hb's", () => {
    const foreign = Object.assign(new Error("from another copy"), { code: "USAGE" });
    expect(isHbError(foreign)).toBe(true);
    expect(isHbError(new Error("plain"))).toBe(false);
    expect(isHbError({ code: "USAGE", name: "x", message: "not an Error" })).toBe(false);
  });

  it("tells a declared code from one a newer package might carry", () => {
    expect(ERROR_CODES.every(isErrorCode)).toBe(true);
    expect(isErrorCode("A_CODE_FROM_A_NEWER_PACKAGE")).toBe(false);
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
  });
});
