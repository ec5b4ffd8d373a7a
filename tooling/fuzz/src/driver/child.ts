// The fuzz child: runs each input the parent sends through the code under test and says how it
// ended. It runs as an unprivileged uid of its own (see ../harness.ts), in its temp folder; it is
// bundled with tsup, since Node cannot load the sources as they are (their imports name .js files).
import { formatStatus } from "@hb/cli/src/commands/status.js";
import { parseDaemonStatus } from "@hb/cli/src/lib/hbd-client.js";
import { judgeDaemon, type FenceStorage } from "@hb/cli/src/lib/one-owner.js";
import { MAPPED_ERROR_CODES } from "@hb/cli/src/errors.js";
import { run } from "@hb/cli/src/run.js";
import { decodePropertiesBytes, deriveTiming, isHbError, parseProperties, readPropertiesFile, resolveConfig, setProperty, unsetProperty } from "@hb/config";
import { formatSimulation, parseScenario, ProcessExecutor, simulate, SystemClock, type ExecRequest, type ExecResult, type Executor } from "@hb/core";
import { checkResourceOptions, classifyHost, judgeDrbdVeto, parseEvents2, parseShowJson, parseStatusJson } from "@hb/storage-drbd";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import type { Answers, ArgvInput, DrbdInput, HbdInput, Outcome, PropertiesInput, Reply, Request, ScenarioInput, StrayReport } from "../protocol.js";

const temp = process.cwd();
const named = new Set(MAPPED_ERROR_CODES);
const OUTPUT_CAP = 64 * 1024;

const send = (message: Reply | StrayReport) => process.send?.(message);

// An error thrown after a command returned (a stray timer, an unhandled rejection) fails the run
// in flight: the parent attributes it to the input that was being run.
process.on("uncaughtException", (error) => send({ stray: "uncaughtException", message: describe(error) }));
process.on("unhandledRejection", (error) => send({ stray: "unhandledRejection", message: describe(error) }));

function describe(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}\n${error.stack ?? ""}`;
  try {
    return String(error);
  } catch {
    return typeof error;
  }
}

/** A named error is one the CLI maps (apps/cli/src/errors.ts); anything else escaped. */
function outcomeOf(error: unknown): Outcome {
  if (isHbError(error) && named.has(error.code)) return { outcome: "named", code: error.code, message: error.message.slice(0, 500) };
  return { outcome: "unnamed", message: describe(error).slice(0, 4000) };
}

async function guarded(work: () => unknown): Promise<Outcome> {
  try {
    return { outcome: "ok", result: await work() };
  } catch (error) {
    return outcomeOf(error);
  }
}

function properties(input: PropertiesInput): Promise<Outcome> {
  return guarded(async () => {
    const text = input.bytes === undefined ? input.text : decodePropertiesBytes(Uint8Array.from(input.bytes));
    let doc;
    if (input.viaFile) {
      const path = join(temp, "fuzzed.properties");
      writeFileSync(path, input.bytes === undefined ? Buffer.from(text, "latin1") : Uint8Array.from(input.bytes));
      doc = await readPropertiesFile(path);
    } else {
      doc = parseProperties(text);
    }
    const resolved = resolveConfig(doc);
    deriveTiming(resolved.values);
    const edited = setProperty(doc.text, input.key, input.value);
    resolveConfig(parseProperties(edited.text));
    resolveConfig(parseProperties(unsetProperty(doc.text, input.key).text));
    return resolved.problems.length;
  });
}

// Far below SIMULATION_LIMITS, so that each run stays short; the limit itself is what is exercised.
const FUZZ_LIMITS = { maxDurationMs: 7 * 24 * 3600 * 1000, maxEvents: 5_000 };

function scenario(input: ScenarioInput): Promise<Outcome> {
  return guarded(async () => {
    let raw: unknown;
    try {
      raw = JSON.parse(input.json);
    } catch {
      return "not JSON"; // hb simulate names that itself, before parseScenario (see the argv property).
    }
    const result = await simulate(parseScenario(raw), input.propertiesText, input.policy, FUZZ_LIMITS);
    return formatSimulation(result).length;
  });
}

function drbd(input: DrbdInput): Promise<Outcome> {
  return guarded(() => {
    switch (input.format) {
      case "events2":
      case "status-json": {
        const snapshot = input.format === "events2" ? parseEvents2(input.text) : parseStatusJson(input.text);
        judgeDrbdVeto(snapshot, []);
        return classifyHost(snapshot).verdict;
      }
      case "show-json": {
        const options = parseShowJson(input.text);
        checkResourceOptions(options);
        return options.length;
      }
    }
  });
}

function hbd(input: HbdInput): Promise<Outcome> {
  return guarded(() => {
    formatStatus(input.document as Parameters<typeof formatStatus>[0]);
    const view = parseDaemonStatus(input.document, "fuzz");
    if (view === null) return "not hbd's status";
    const storage: FenceStorage = input.storage === "shared-block" ? { kind: "shared-block" } : { kind: "nfs", mountPoint: input.storage };
    return judgeDaemon(view, storage).kind;
  });
}

/**
 * The Executor port for the argv property. Node children (hb's storage workers, the fence record,
 * the control client when not answered) and `dd` (a read) run for real, as this uid, in this
 * folder. Every other program (drbdsetup, mount, logger, systemctl, sync, wdctl, modprobe…) acts
 * on the host or needs root: it is answered here, with the fuzzed answer, and never started.
 */
class FuzzExecutor implements Executor {
  private readonly real = new ProcessExecutor();
  constructor(private readonly answers: Answers) {}

  async run(request: ExecRequest): Promise<ExecResult> {
    const program = basename(request.file);
    const isNode = request.file === process.execPath;
    if (isNode && request.args.some((arg) => arg.includes("hb-control-client")) && this.answers.control !== null) {
      return this.answer(this.answers.control, 0);
    }
    if (isNode || program === "dd") return this.real.run({ ...request, deadlineMs: Math.min(request.deadlineMs, 5_000) });
    const answer = program === "drbdsetup" ? this.answers.drbdsetup[request.args[0] === "events2" ? "events2" : request.args[0] === "show" ? "show" : "status"] : this.answers.program;
    return this.answer(answer.stdout, answer.exitCode, answer.stderr, answer.timedOut);
  }

  private answer(stdout: string, exitCode: number | null, stderr = "", timedOut = false): ExecResult {
    return { exitCode: timedOut ? null : exitCode, signal: null, stdout, stderr, timedOut, durationMs: 1 };
  }
}

async function argv(input: ArgvInput): Promise<Outcome> {
  // Rewritten every run, so that a run replays alike whatever ran before it.
  writeFileSync(join(temp, "fuzzed.properties"), input.propertiesText, "latin1");
  writeFileSync(join(temp, "scenario.json"), input.scenarioText);
  // --status-fd names a descriptor of the caller; in this process fds 3… are Node's own (the
  // parent channel among them), so "@fd" stands for one opened here on a file of the folder.
  let statusFd: number | undefined;
  const args = input.argv.map((word) => {
    if (word !== "@fd") return word;
    statusFd ??= openSync(join(temp, "status-fd"), "w");
    return String(statusFd);
  });
  let stdout = "";
  let stderr = "";
  const code = await run(args, {
    stdout: (text) => void (stdout = (stdout + text).slice(0, OUTPUT_CAP)),
    stderr: (text) => void (stderr = (stderr + text).slice(0, OUTPUT_CAP)),
    env: { AGENT_PROPS: input.agentProps },
    version: "0.0.0-fuzz",
    executor: new FuzzExecutor(input.answers),
    clock: new SystemClock(),
  });
  if (statusFd !== undefined) {
    try {
      closeSync(statusFd);
    } catch {
      // hb fence closed it, as it should.
    }
  }
  return { outcome: "ok", result: { code, stdout: stdout.slice(0, 2000), stderr: stderr.slice(0, 4000) } };
}

async function handle(request: Request): Promise<Outcome> {
  switch (request.kind) {
    case "properties":
      return properties(request.input);
    case "scenario":
      return scenario(request.input);
    case "drbd":
      return drbd(request.input);
    case "hbd":
      return hbd(request.input);
    case "argv":
      return argv(request.input);
  }
}

process.on("message", (request: Request) => {
  void handle(request).then(
    (outcome) => send({ id: request.id, ...outcome }),
    (error: unknown) => send({ id: request.id, outcome: "unnamed", message: describe(error) }),
  );
});
send({ ready: true });
