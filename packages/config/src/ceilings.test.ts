import { describe, expect, it } from "vitest";
import { FENCE_ACTIONS, PROPERTY_KEYS, PROPERTY_SPECS, TIMER_MAX_MS, deriveTiming, parseProperties, resolveConfig, type PropertyKey } from "./index.js";

const resolveText = (text: string) => resolveConfig(parseProperties(text));
const NUMERIC_KEYS = PROPERTY_KEYS.filter((key) => ["ms", "s", "count"].includes(PROPERTY_SPECS[key].unit));
const DURATION_KEYS = PROPERTY_KEYS.filter((key) => PROPERTY_SPECS[key].unit === "ms" || PROPERTY_SPECS[key].unit === "s");
const ceilingOf = (key: PropertyKey): number => {
  const max = PROPERTY_SPECS[key].max;
  if (max === undefined) throw new Error(`${key} has no ceiling`);
  return max;
};

describe("every duration has a ceiling", () => {
  it("is declared for every duration and count, and never more than a Node timer holds", () => {
    for (const key of NUMERIC_KEYS) {
      const max = ceilingOf(key);
      expect(PROPERTY_SPECS[key].unit === "s" ? max * 1000 : max, key).toBeLessThanOrEqual(TIMER_MAX_MS);
    }
  });

  // The values seen in the field: each ran as a 1 ms timer (Node's fallback past 2^31-1 ms).
  it.each([
    ["hb.fence.graceful.deadline", "9999999999", 120_000],
    ["hb.fence.step.timeout", "9999999999", 2_000],
    ["kvm.heartbeat.update.frequency", "3000000000", 60_000],
    ["heartbeat.update.timeout", "2147483648", 60_000],
    ["kvm.heartbeat.update.retry.sleep", "99999999999999999999", 10_000],
  ])("%s=%s is unusable past the timer's limit, and the default %d is used", (key, raw, fallback) => {
    const { values, problems } = resolveText(`${key}=${raw}\n`);
    expect(values[key as PropertyKey]).toBe(fallback);
    expect(problems).toEqual([
      expect.objectContaining({ kind: "unusable", key, line: 1, value: raw, used: fallback, message: expect.stringMatching(/too large: more than 2147483647 ms, the longest wait a timer can hold/) }),
    ]);
  });

  it.each(DURATION_KEYS.concat(NUMERIC_KEYS.filter((key) => PROPERTY_SPECS[key].unit === "count")))("%s takes its ceiling and refuses one more", (key) => {
    const max = ceilingOf(key);
    expect(resolveText(`${key}=${max}\n`)).toMatchObject({ problems: [], values: { [key]: max } });
    const over = resolveText(`${key}=${max + 1}\n`);
    expect(over.values[key]).toBe(PROPERTY_SPECS[key].defaultValue);
    expect(over.problems).toEqual([expect.objectContaining({ kind: "unusable", key, used: PROPERTY_SPECS[key].defaultValue, message: expect.stringMatching(/too large/) })]);
  });

  it("keeps the Java int reason for heartbeat.update.timeout", () => {
    expect(resolveText("heartbeat.update.timeout=2147483648\n").problems[0]?.message).toMatch(/Java int/);
  });

  it("derives no time a timer cannot hold, with every property at its ceiling and every action", () => {
    const atCeilings = PROPERTY_KEYS.filter((key) => PROPERTY_SPECS[key].max !== undefined).map((key) => `${key}=${ceilingOf(key)}`);
    for (const action of FENCE_ACTIONS) {
      for (const kill of ["true", "false"]) {
        const { values, problems } = resolveText([...atCeilings, `kvm.heartbeat.fence.action=${action}`, `hb.fence.kill.affected.vms=${kill}`, "hb.kvm.ha.activity.check.failure.ratio=1", ""].join("\n"));
        expect(problems).toEqual([]);
        const model = deriveTiming(values);
        const times = [
          ...Object.values(model).filter((value): value is number => typeof value === "number"),
          ...Object.values(model.verify).filter((value): value is number => typeof value === "number"),
          ...model.timeline.map((event) => event.atMs ?? 0),
        ];
        for (const ms of times) expect(ms, `${action}`).toBeLessThanOrEqual(TIMER_MAX_MS);
      }
    }
  });
});

describe("values hbd cannot use", () => {
  it.each([
    ["hb.fence.sysrq.trigger", "/proc/sysrq-trigger\\u0000x"],
    ["hb.state.dir", "/var/lib/hb\\nother"],
    ["hb.mounts.file", "/proc/self/\\tmounts"],
    ["mount.path", "/mnt\\u001b[2J"],
    ["hb.watchdog.device", "/dev/watch\\u007fdog"],
    ["hb.fence.agent.service", "cloudstack-agent\\u0000"],
    ["hb.drbd.drbdsetup", "drbd\\rsetup"],
  ])("%s with a control character is unusable, and the default is used", (key, escaped) => {
    const { values, problems } = resolveText(`${key}=${escaped}\n`);
    expect(values[key as PropertyKey]).toBe(PROPERTY_SPECS[key as PropertyKey].defaultValue);
    expect(problems).toEqual([expect.objectContaining({ kind: "unusable", key, message: expect.stringMatching(/control character/) })]);
  });

  it("keeps a tab between hb.pools entries, which hbd reads", () => {
    expect(resolveText("hb.pools=nfs:/mnt/a;\tnfs:/mnt/b\n").problems).toEqual([]);
  });

  it("refuses a relative hb.state.dir", () => {
    const { values, problems } = resolveText("hb.state.dir=var/lib/hb\n");
    expect(values["hb.state.dir"]).toBe("/var/lib/hb");
    expect(problems).toEqual([expect.objectContaining({ kind: "invalid", key: "hb.state.dir", message: expect.stringMatching(/absolute/) })]);
  });

  it.each(["0.0.0.0:9746", "10.0.0.5:9746", "[::]:9746", "myhost.example:9746"])(
    "refuses hb.status.listen=%s without hb.status.allow.remote, and listens on the loopback default",
    (listen) => {
      const { values, problems } = resolveText(`hb.status.listen=${listen}\n`);
      expect(values["hb.status.listen"]).toBe("127.0.0.1:9746");
      expect(problems).toEqual([
        expect.objectContaining({ kind: "invalid", key: "hb.status.listen", line: 1, value: listen, used: "127.0.0.1:9746", message: expect.stringMatching(/not a loopback address; set hb.status.allow.remote=true/) }),
      ]);
    },
  );

  it("takes a non-loopback hb.status.listen when hb.status.allow.remote is true", () => {
    const { values, problems } = resolveText("hb.status.listen=0.0.0.0:9746\nhb.status.allow.remote=true\n");
    expect(problems).toEqual([]);
    expect(values["hb.status.listen"]).toBe("0.0.0.0:9746");
  });

  it.each(["127.0.0.1:9746", "127.0.0.1:0", "localhost:9746", "[::1]:9746", "127.8.9.10:65535"])("takes loopback hb.status.listen=%s", (listen) => {
    expect(resolveText(`hb.status.listen=${listen}\n`).problems).toEqual([]);
  });

  it.each(["9746", "127.0.0.1", "127.0.0.1:65536", "127.0.0.1:http", "::1:9746", "local host:9746", "[not-ip6]:9746", "127.0.0.1:9746:1"])(
    "refuses garbage hb.status.listen=%s, even with hb.status.allow.remote",
    (listen) => {
      const { values, problems } = resolveText(`hb.status.listen=${listen}\nhb.status.allow.remote=true\n`);
      expect(values["hb.status.listen"]).toBe("127.0.0.1:9746");
      expect(problems).toEqual([expect.objectContaining({ kind: "invalid", key: "hb.status.listen", message: expect.stringMatching(/expected HOST:PORT/) })]);
    },
  );
});

describe("the README's property table", () => {
  it("lists every property with the schema's unit, default and ceiling", async () => {
    const { readFile } = await import("node:fs/promises");
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    const rows = new Map(
      (readme.split("\n## Properties\n")[1] ?? "")
        .split("\n")
        .filter((line) => line.startsWith("| `"))
        .map((line) => line.split("|").slice(1, -1).map((cell) => cell.trim()))
        .map(([key = "", ...cells]) => [key.replaceAll("`", ""), cells]),
    );
    for (const key of PROPERTY_KEYS) {
      const spec = PROPERTY_SPECS[key];
      const expected = [spec.unit, spec.defaultValue === null ? "—" : String(spec.defaultValue), spec.max === undefined ? "" : String(spec.max)];
      expect(rows.get(key)?.slice(0, 3), key).toEqual(expected);
      if (spec.maxReason !== undefined) expect(rows.get(key)?.[3], key).toBe(spec.maxReason);
    }
    expect([...rows.keys()].sort()).toEqual([...PROPERTY_KEYS].sort());
  });
});
