// The fault matrix (fault-matrix.table.ts), run against hbd with real children, real FUSE
// mounts, the fake drbdsetup and fake systemctl/logger on PATH. Rows run concurrently, each
// with its own hbd, pool and sysrq file; the event-loop stall runs alone (it stalls this
// process, where hbd runs). Then the readers' rows (the neighbour side: the built hb judging a
// suspect's file on a FUSE mount). Afterwards both tables are written to docs/fault-matrix.md
// with the measured times.
import { readdirSync, writeFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deriveTiming } from "@hb/config";
import { DRBD_FIXTURES, faultFsUnavailableReason, fenceHost, type FenceHost } from "@hb/testkit";
import { DRBD_FIXTURE_NAMES, MATRIX, MATRIX_PROPERTIES, READER_MATRIX, type MatrixRow } from "./fault-matrix.table.js";
import { judge, renderMatrix } from "./matrix/render.js";
import { judgeReader, readerUnavailableReason, runReader, type ReaderResult } from "./matrix/run-reader.js";
import { configOf, runRow, unavailableReason, type RowEnvironment, type RowResult } from "./matrix/run-row.js";
import { FileWatch } from "./matrix/watch.js";

const DOC = fileURLToPath(new URL("../../../docs/fault-matrix.md", import.meta.url));
// Rows start this far apart: a burst of hbd start-ups and FUSE mounts would itself be a fault.
const STAGGER_MS = 150;
// Rows at once. Every hbd here shares this process's event loop, and every NFS attempt starts a
// Node child: more at once and the machine, not the storage, becomes the fault (measured on 2
// busy cores: all 32 rows at once put decisions 2 s late; 8 NFS rows at once made healthy
// writes slow). DRBD and mount-table rows start only a shell per attempt.
const NFS_LANES = 3;
const OTHER_LANES = 5;

const fuse = faultFsUnavailableReason();
const skipped = new Map<string, string>();
for (const row of MATRIX) {
  const why = unavailableReason(row, fuse);
  if (why === null) continue;
  skipped.set(row.id, why);
  console.warn(`fault matrix: row ${row.id} SKIPPED: ${why}`);
}

const readersSkipped = readerUnavailableReason(fuse);
if (readersSkipped !== null) console.warn(`fault matrix: reader rows SKIPPED: ${readersSkipped}`);

const results = new Map<string, RowResult | Error>();
const readerResults = new Map<string, ReaderResult | Error>();
let host: FenceHost | undefined;
let previousPath: string | undefined;
let startedAt = new Date();
let durationMs = 0;
let loadBefore = "";

// The stall stops this process, where hbd runs; the idle connections take its descriptors.
const alone = (row: MatrixRow) => row.inject.kind === "event-loop-stall" || row.inject.kind === "idle-connections";
// An NFS heartbeat is a Node child; a mount-table failure never gets as far as starting one.
const startsNodeChildren = (row: MatrixRow) => row.pool === "nfs" && !["mount-vanishes", "state-dir", "status-port-held", "reload-broken-file"].includes(row.inject.kind);

beforeAll(async () => {
  startedAt = new Date();
  loadBefore = loadavg()[0]?.toFixed(1) ?? "?";
  const started = performance.now();
  // systemctl hangs for every row: only graceful-reboot calls it.
  host = await fenceHost({ systemctl: "hang" });
  previousPath = process.env.PATH;
  process.env.PATH = host.path;
  const fakes = host;
  const env: RowEnvironment = {
    watch: new FileWatch(),
    syslogLines: async () => (await fakes.eventNames()).filter((line) => line.startsWith("logger ")),
  };
  const runnable = MATRIX.filter((row) => !skipped.has(row.id));
  const record = async (row: MatrixRow) => {
    try {
      results.set(row.id, await runRow(row, MATRIX_PROPERTIES, env));
    } catch (error) {
      results.set(row.id, error instanceof Error ? error : new Error(String(error)));
    }
  };
  const lanes = (queue: MatrixRow[], count: number, offset: number) =>
    Array.from({ length: count }, async (_, lane) => {
      await new Promise((resolve) => setTimeout(resolve, (offset + lane) * STAGGER_MS));
      for (let row = queue.shift(); row !== undefined; row = queue.shift()) await record(row);
    });
  const heavy = runnable.filter((row) => !alone(row) && startsNodeChildren(row));
  const light = runnable.filter((row) => !alone(row) && !startsNodeChildren(row));
  await Promise.all([...lanes(heavy, NFS_LANES, 0), ...lanes(light, OTHER_LANES, NFS_LANES)]);
  for (const row of runnable.filter(alone)) await record(row);
  if (readersSkipped === null) {
    for (const row of READER_MATRIX) {
      try {
        readerResults.set(row.id, await runReader(row));
      } catch (error) {
        readerResults.set(row.id, error instanceof Error ? error : new Error(String(error)));
      }
    }
  }
  durationMs = performance.now() - started;
}, 240_000);

afterAll(async () => {
  if (previousPath !== undefined) process.env.PATH = previousPath;
  await host?.temp.remove();
  if (results.size === 0) return;
  const machine = `${availableParallelism()} cores, load average ${loadBefore} at the start and ${loadavg()[0]?.toFixed(1) ?? "?"} at the end, Node ${process.version}`;
  const text = renderMatrix({
    rows: MATRIX,
    results,
    skipped,
    timing: deriveTiming(configOf(MATRIX_PROPERTIES)),
    properties: MATRIX_PROPERTIES,
    date: startedAt,
    machine,
    durationMs,
    readers: READER_MATRIX,
    readerResults,
    readersSkipped,
  });
  try {
    writeFileSync(DOC, text);
  } catch (error) {
    // A read-only checkout still gets the verdicts; only the page is not refreshed.
    console.warn(`fault matrix: ${DOC} not written: ${(error as Error).message}`);
  }
});

describe("fault matrix", () => {
  it("has a row for every DRBD fixture", () => {
    const fixtures = readdirSync(DRBD_FIXTURES)
      .filter((name) => name.endsWith(".events2.txt"))
      .map((name) => name.replace(/\.events2\.txt$/, ""));
    expect(fixtures.filter((name) => !DRBD_FIXTURE_NAMES.includes(name))).toEqual([]);
  });

  for (const row of MATRIX) {
    it.skipIf(skipped.has(row.id))(`${row.id}: ${row.case}`, () => {
      const result = results.get(row.id);
      if (result instanceof Error) throw result;
      if (result === undefined) throw new Error("the row did not run");
      expect(result.states).toEqual(row.states);
      expect(judge(row, result)).toEqual([]);
    });
  }

  for (const row of READER_MATRIX) {
    it.skipIf(readersSkipped !== null)(`${row.id}: ${row.case}`, () => {
      const result = readerResults.get(row.id);
      if (result instanceof Error) throw result;
      if (result === undefined) throw new Error("the row did not run");
      expect({ exitCode: result.exitCode, firstLine: result.firstLine }).toEqual({ exitCode: row.expected.exitCode, firstLine: expect.stringMatching(row.expected.firstLine) });
      expect(judgeReader(row, result)).toEqual([]);
    });
  }
});
