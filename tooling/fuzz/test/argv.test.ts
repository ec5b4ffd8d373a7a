import { execFileSync } from "node:child_process";
import { mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, expect, it } from "vitest";
import { drbdOutputs, hbdDocument, hostileString, numberish, propertiesText, scenarioJson } from "../src/arbitraries.js";
import { checkNothingOutside, fuzz, FuzzChild, printSeed, writeMarker } from "../src/harness.js";
import type { Answers, ArgvInput, ArgvResult, ProgramAnswer } from "../src/protocol.js";

// Every command of `hb`, in process (apps/cli's run(argv, deps)), with command lines made of the
// real vocabulary and garbage. Its files are in the child's folder: agent.properties (through
// AGENT_PROPS or --file) points the state folder, the sysrq trigger and the watchdog there, so
// `hb fence` without --dry-run, `hb compat … -c`, `hb shims install` and `hb maintenance` act on
// that folder. The programs hb runs are answered at the Executor port (driver/child.ts); the
// child's uid of its own turns any attempt at the real host (a default /proc/sysrq-trigger when
// the file is missing) into EACCES, and writesOutside() shows whatever it wrote.
printSeed();

let child: FuzzChild;
let marker: string;
let folder: string;

// Written after any fuzzed text (and a blank line, which ends a trailing continuation): the last
// occurrence wins, so these always hold. Short waits keep the fence path within the bound.
const safeLines = (dir: string) =>
  [
    "",
    "",
    `hb.state.dir=${dir}/state`,
    `hb.fence.sysrq.trigger=${dir}/sysrq`,
    `hb.watchdog.device=${dir}/no-watchdog`,
    "hb.status.listen=127.0.0.1:9",
    "hb.fence.flush.wait=100",
    "hb.fence.step.timeout=300",
    "hb.fence.graceful.deadline=800",
    "heartbeat.update.timeout=3000",
    "kvm.heartbeat.checker.timeout=3000",
    "kvm.heartbeat.update.retry.sleep=10",
    "kvm.heartbeat.update.max.tries=2",
    "",
  ].join("\n");

beforeAll(async () => {
  child = await FuzzChild.start("argv", async (dir) => {
    await writeFile(join(dir, "agent.properties"), safeLines(dir));
    await writeFile(join(dir, "fuzzed.properties"), safeLines(dir));
    await writeFile(join(dir, "big.properties"), `${"#".repeat(2 * 1024 * 1024)}\n${safeLines(dir)}`);
    await writeFile(join(dir, "scenario.json"), "{}");
    await writeFile(join(dir, "good.json"), JSON.stringify({ durationMs: 600_000, targets: { pool: [{ fromMs: 0, latencyMs: 5 }, { fromMs: 60_000, hang: true }] } }));
    execFileSync("mkfifo", [join(dir, "fifo.properties"), join(dir, "fifo.json")]);
    await mkdir(join(dir, "folder.properties"));
    await symlink(join(dir, "agent.properties"), join(dir, "link.properties"));
    await symlink(join(dir, "missing"), join(dir, "dangling.properties"));
    await mkdir(join(dir, "state"));
    await mkdir(join(dir, "mnt", "KVMHA"), { recursive: true });
    await writeFile(join(dir, "mnt", "KVMHA", "hb-10.0.0.5"), "1764000000\n");
    await mkdir(join(dir, "shims"));
    await writeFile(join(dir, "shims", "kvmheartbeat.sh"), "#!/bin/sh\nexit 0\n");
    await writeFile(join(dir, "sysrq"), "");
  });
  folder = child.folder;
  marker = await writeMarker(folder);
});
afterAll(() => child.stop());

const inFolder = (name: string) => fc.constant(name).map((n) => join(folder, n));
const propertiesFile = fc.oneof(
  { weight: 4, arbitrary: inFolder("fuzzed.properties") },
  { weight: 2, arbitrary: inFolder("agent.properties") },
  { weight: 1, arbitrary: fc.constantFrom("big.properties", "fifo.properties", "folder.properties", "link.properties", "dangling.properties", "missing.properties").chain(inFolder) },
  // Relative: resolved in the child's working folder, its temp folder.
  { weight: 1, arbitrary: fc.constantFrom("fuzzed.properties", "nope.properties", "", "-") },
);
const folderArg = fc.oneof(fc.constantFrom("mnt", "shims", "state", ".", "mnt/KVMHA").chain(inFolder), fc.constantFrom("relative", "", "-x"), hostileString(12));
const mountArg = fc.oneof({ weight: 3, arbitrary: inFolder("mnt") }, { weight: 1, arbitrary: fc.constantFrom("/", "/etc", "-obind,remount", "", "relative") }, { weight: 1, arbitrary: hostileString(12) });
const hostArg = fc.oneof(fc.constantFrom("10.0.0.5", "10.0.0.6", "::1", "", "../../etc/passwd", "-h", "10.0.0.5\n"), hostileString(10));
const word = fc.oneof({ weight: 3, arbitrary: hostileString(16) }, { weight: 2, arbitrary: numberish }, { weight: 1, arbitrary: fc.constantFrom("--", "-", "-h", "--help", "help", "--json", "--file", "-f", "=", "--no-such", "--file=x", "-ff") });

type Option = readonly [string, fc.Arbitrary<string> | null];
/** One option: its name then its value (or no value, or a value glued on with =). */
const optionWords = (options: readonly Option[]) =>
  fc.constantFrom(...options).chain(([name, value]) =>
    value === null ? fc.constant([name]) : fc.oneof({ weight: 4, arbitrary: value.map((v) => [name, v]) }, { weight: 1, arbitrary: value.map((v) => [`${name}=${v}`]) }, { weight: 1, arbitrary: fc.constant([name]) }),
  );
const FILE: Option = ["--file", propertiesFile];
const JSON_FLAG: Option = ["--json", null];
const HELP: Option = ["--help", null];

/** A command line: its words, then options in any order, sometimes with garbage inserted. */
const commandLine = (head: fc.Arbitrary<readonly string[]>, options: readonly Option[]) =>
  fc
    .tuple(head, fc.array(optionWords(options), { maxLength: 5 }), fc.option(fc.tuple(fc.nat(6), word), { nil: undefined, freq: 4 }))
    .map(([words, opts, garbage]) => {
      const line = [...words, ...opts.flat()];
      if (garbage !== undefined) line.splice(1 + (garbage[0] % line.length), 0, garbage[1]);
      return line;
    });

const propertyKeyArg = fc.oneof(fc.constantFrom("kvm.heartbeat.fence.action", "hb.state.dir", "hb.fence.sysrq.trigger", "kvm.heartbeat.update.max.tries", "guid"), hostileString(12));
const ttl = fc.oneof(fc.constantFrom("30m", "1h", "90s", "500ms", "0", "0s", "25h", "99999999999999999999h", "-1m", "1d", ""), hostileString(6));
const fenceAction = fc.oneof(fc.constantFrom("reboot", "hard-reboot", "graceful-reboot", "restart-agent", "log-only", "shutdown", " reboot "), hostileString(8));
const statusFd = fc.constantFrom("@fd", "@fd", "0", "1", "2", "x", "-1", "3.5", "99999999999999999999");

const argvs = fc.oneof(
  commandLine(fc.tuple(fc.constant("config"), fc.constantFrom("show", "validate")), [FILE, ["-f", propertiesFile], JSON_FLAG, ["--force", null]]),
  commandLine(fc.tuple(fc.constant("config"), fc.constantFrom("get", "unset"), propertyKeyArg), [FILE, JSON_FLAG]),
  commandLine(fc.tuple(fc.constant("config"), fc.constant("set"), propertyKeyArg, fc.oneof(numberish, hostileString(20), fenceAction)), [FILE, ["--force", null]]),
  commandLine(fc.tuple(fc.constant("timing"), fc.constantFrom("explain", "")), [FILE, JSON_FLAG]),
  commandLine(fc.tuple(fc.constant("simulate"), fc.constantFrom("scenario.json", "scenario.json", "good.json", "fifo.json", "missing.json", "state").map((name) => join(folder, name))), [FILE, JSON_FLAG, HELP]),
  commandLine(fc.tuple(fc.constant("nfs"), fc.constantFrom("write", "check", "activity", "scan")), [
    ["--mount", mountArg],
    ["--host", hostArg],
    ["--server", fc.constantFrom("10.0.0.1", "-obind,remount", "")],
    ["--export", fc.constantFrom("/export", "", "-o")],
    ["--timeout", numberish],
    ["--max-age", numberish],
    ["--volumes", fc.oneof(fc.constantFrom("a,b", "", ",", "../x"), hostileString(12))],
    ["--suspect-time", numberish],
    ["--no-record", null],
    JSON_FLAG,
    FILE,
    HELP,
  ]),
  commandLine(fc.tuple(fc.constant("drbd"), fc.constantFrom("health", "doctor", "peer")), [JSON_FLAG, ["--timeout", numberish], FILE, HELP]),
  commandLine(fc.tuple(fc.constant("drbd"), fc.constant("peer"), fc.oneof(fc.constantFrom("node-2", "-x", ""), hostileString(8))), [JSON_FLAG, ["--timeout", numberish], FILE]),
  commandLine(fc.constant(["fence"]), [
    ["--action", fenceAction],
    ["--reason", hostileString(30)],
    ["--dry-run", null],
    FILE,
    ["--source", fc.constantFrom("kvmheartbeat.sh", "kvmspheartbeat.sh", "hb fence", "")],
    ["--target", fc.oneof(inFolder("mnt"), hostileString(12))],
    ["--status-fd", statusFd],
  ]),
  commandLine(fc.constant(["fence", "last"]), [JSON_FLAG, FILE]),
  commandLine(fc.tuple(fc.constant("compat"), fc.constantFrom("kvmheartbeat", "kvmspheartbeat", "kvmvmactivity")), [
    ["-i", fc.constantFrom("10.0.0.1", "", "-x")],
    ["-p", fc.constantFrom("/export", "")],
    ["-m", mountArg],
    ["-h", hostArg],
    ["-t", numberish],
    ["-u", fc.oneof(fc.constantFrom("a,b", ""), hostileString(8))],
    ["-d", numberish],
    ["-r", null],
    ["-c", null],
  ]),
  commandLine(fc.tuple(fc.constant("shims"), fc.constantFrom("install", "uninstall", "status")), [["--dir", folderArg], ["--hb", fc.oneof(inFolder("hb"), hostileString(10))], ["--force", null], JSON_FLAG]),
  commandLine(fc.constant(["status"]), [FILE, JSON_FLAG, HELP]),
  commandLine(fc.tuple(fc.constant("maintenance"), fc.constantFrom("on", "off", "")), [["--ttl", ttl], ["--reason", hostileString(20)], FILE, HELP]),
  commandLine(fc.constant(["doctor"]), [["--dir", folderArg], JSON_FLAG, FILE, HELP]),
  fc.constantFrom(["--version"], ["-V"], ["--help"], ["help"], [], ["-h"]),
  // Pure garbage, and garbage after a real command.
  fc.array(word, { maxLength: 6 }),
  fc.tuple(fc.constantFrom("config", "timing", "simulate", "nfs", "drbd", "fence", "compat", "shims", "status", "maintenance", "doctor"), fc.array(word, { maxLength: 5 })).map(([command, rest]) => [command, ...rest]),
);

const programAnswer = (stdout: fc.Arbitrary<string>): fc.Arbitrary<ProgramAnswer> =>
  fc.record({ stdout, stderr: fc.oneof(fc.constant(""), hostileString(30)), exitCode: fc.constantFrom(0, 0, 0, 1, 2, 10, 20, 127, null), timedOut: fc.constantFrom(false, false, false, false, true) });
const controlAnswer = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 4, arbitrary: hbdDocument.map((document) => JSON.stringify({ ok: true, answer: JSON.stringify({ ok: true, result: document }), pid: { read: true, path: "", text: null } })) },
  { weight: 1, arbitrary: fc.constantFrom('{"ok":false,"failure":"unreachable","reason":"x","pid":{"read":false,"path":"","reason":"x"}}', '{"ok":true,"answer":"{\\"ok\\":false}","pid":{"read":true,"path":"","text":"1"}}', "", "null", "{") },
  { weight: 1, arbitrary: hostileString(40) },
);
const answers: fc.Arbitrary<Answers> = fc.record({
  control: controlAnswer,
  drbdsetup: fc.record({ events2: programAnswer(drbdOutputs.events2Text), status: programAnswer(drbdOutputs.statusJsonText), show: programAnswer(drbdOutputs.showJsonText) }),
  program: programAnswer(fc.oneof(fc.constant(""), hostileString(40))),
});

const argvInput: fc.Arbitrary<ArgvInput> = fc.record({
  argv: argvs,
  agentProps: propertiesFile,
  propertiesText: fc.oneof(fc.constant(""), propertiesText).map((text) => `${text}\n${safeLines(folder)}`),
  scenarioText: scenarioJson,
  answers,
});

/** An exit code that is an answer or a named error's: never 70 (an internal error) and one line, no stack. */
function argvProblem(result: ArgvResult): string | undefined {
  if (!Number.isInteger(result.code) || result.code < 0 || result.code > 255) return `exit code ${result.code}`;
  if (result.code === 70 || /internal error/.test(result.stderr)) return `an internal error (exit ${result.code}): ${result.stderr}`;
  if (/\n\s+at .+:\d+:\d+\)?\n/.test(result.stderr)) return `a stack trace on stderr: ${result.stderr}`;
  return undefined;
}

it("runs any command line to an answer or a named error (never exit 70), within 20 s", async () => {
  await fuzz(child, "argv", argvInput, 200, 20_000, (judged) => (judged.outcome === "ok" ? argvProblem(judged.result as ArgvResult) : undefined));
});

it("printed nothing of its own and wrote nothing outside its temp folder", async () => {
  const { output, writes } = await checkNothingOutside(child, marker);
  expect(output).toBe("");
  if (writes !== null) expect(writes).toEqual([]);
});
