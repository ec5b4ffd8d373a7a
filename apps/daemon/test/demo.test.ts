import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { runDemo } from "../src/demo.js";

describe("hbd --demo", () => {
  it("shows slow, failing, dead, the dry-run fence record and the recovery, then ends by itself", async () => {
    let output = "";
    const code = await runDemo({ version: "0.0.0-test", stdout: (text) => void (output += text), phases: { slowAtS: 3, stallAtS: 6, recoverAtS: 20, endAtS: 24 } });
    expect(code).toBe(0);
    const order = ["-> healthy", "-> slow", "-> failing", "-> dead", "dry run: would write b", "dead -> healthy"].map((text) => output.indexOf(text));
    expect(order.every((index) => index >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    const recordPath = /The audit record of the decision: (\S+)/.exec(output)?.[1] ?? "";
    const record = JSON.parse((await readFile(recordPath, "utf8")).split("\n")[0] ?? "{}");
    expect(record).toMatchObject({ action: "reboot", dryRun: true, isFence: false, source: "hbd", target: "pool" });
  }, 60_000);
});
