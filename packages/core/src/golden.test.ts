import { readdirSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { formatSimulation, parseScenario, simulate } from "./index.js";

// Golden logs in the manner of Proxmox's ha-tester: each scenario's timeline is diffed against
// its .expected file. HB_UPDATE_GOLDEN=1 rewrites them (review the diff before committing).
const dir = fileURLToPath(new URL("../test/scenarios/", import.meta.url));
const scenarios = readdirSync(dir).filter((name) => name.endsWith(".json")).sort();

describe("golden scenarios", () => {
  it("has scenarios", () => expect(scenarios.length).toBeGreaterThan(0));

  it.each(scenarios)("%s", async (name) => {
    const scenario = parseScenario(JSON.parse(await readFile(`${dir}${name}`, "utf8")));
    const log = formatSimulation(await simulate(scenario));
    const expectedPath = `${dir}${name.replace(/\.json$/, ".expected")}`;
    if (process.env.HB_UPDATE_GOLDEN === "1") await writeFile(expectedPath, log);
    expect(log).toBe(await readFile(expectedPath, "utf8"));
  });
});
