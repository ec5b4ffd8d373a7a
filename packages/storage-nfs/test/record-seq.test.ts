import { mkdir, readFile, writeFile } from "node:fs/promises";
import { ProcessExecutor } from "@hb/core/adapters";
import { makeTempDir } from "@hb/testkit";
import { afterAll, describe, expect, it } from "vitest";
import { writeHeartbeat } from "../src/index.js";
import { WORKERS } from "./workers.js";

const HOST = "10.0.0.5";
const temp = await makeTempDir("hb-record-seq-");
afterAll(() => temp.remove());

// What another writer, a torn write or a hostile neighbour may leave as hbx-<host>.json. The next
// seq is the previous one plus one when the file is a JSON object whose last `seq` is a safe
// integer (as JSON.parse reads it), else 1. Both workers must agree on every one.
const RECORDS: readonly (readonly [string, string | Buffer, number])[] = [
  ["a record", '{"bootId":"b","seq":41}', 42],
  ["padded with blanks", `{"seq":7}${" ".repeat(40)}\n`, 8],
  ["torn", '{"bootId":"b","se', 1],
  ["empty object", "{}", 1],
  ["not an object", "[1,2,3]", 1],
  ["a bare number", "41", 1],
  ["null", "null", 1],
  ["seq as a string", '{"seq":"41"}', 1],
  ["a fraction", '{"seq":41.5}', 1],
  ["1.0 is an integer to JSON.parse", '{"seq":1.0}', 2],
  ["an exponent", '{"seq":1e2}', 101],
  ["negative", '{"seq":-5}', -4],
  ["past 2^53", '{"seq":9007199254740993}', 1],
  ["the largest safe integer", '{"seq":9007199254740991}', 9007199254740992],
  ["the last seq wins", '{"seq":3,"x":{"seq":99},"seq":10}', 11],
  ["a nested seq does not count", '{"x":{"seq":99}}', 1],
  ["escapes and unicode in strings", '{"a":"\\u00e9\\n\\"q\\"","b":"é","seq":5}', 6],
  ["a lone surrogate escape", '{"a":"\\ud800","seq":5}', 6],
  ["deep nesting", `{"a":${"[".repeat(100)}${"]".repeat(100)},"seq":5}`, 6],
  ["a raw control character in a string", '{"a":"x\u0001y","seq":5}', 1],
  ["a trailing comma", '{"seq":5,}', 1],
  ["garbage after the object", '{"seq":5} x', 1],
  ["a byte-order mark", "\ufeff{\"seq\":5}", 1],
  ["invalid UTF-8 inside a string", Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff, 0xfe]), Buffer.from('","seq":5}')]), 6],
  ["NaN", '{"seq":NaN}', 1],
  ["leading zeros", '{"seq":007}', 1],
  ["a plus sign", '{"seq":+5}', 1],
];

describe.each(WORKERS)("the record's next seq after what is on the pool, with $name", ({ worker }) => {
  const executor = new ProcessExecutor();
  it.each(RECORDS)("%s", async (label, previous, next) => {
    const pool = temp.file(`${Object.keys(worker).length}-${label.replace(/[^a-z0-9]+/gi, "-")}`);
    await mkdir(pool);
    const write = () => writeHeartbeat({ executor, mountPoint: pool, hostId: HOST, nowEpochSeconds: 1_764_000_000, deadlineMs: 10_000, record: { bootId: "b" }, ...worker });
    expect(await write()).toMatchObject({ ok: true });
    await writeFile(`${pool}/KVMHA/hbx-${HOST}.json`, previous);
    expect(await write()).toMatchObject({ ok: true, seq: next });
    expect(JSON.parse(await readFile(`${pool}/KVMHA/hbx-${HOST}.json`, "utf8"))).toEqual({ bootId: "b", seq: next });
  });
});
