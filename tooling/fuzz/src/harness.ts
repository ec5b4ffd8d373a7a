// The parent side of a fuzz property: a child process that runs the code under test as an
// unprivileged uid of its own, a bound on each run, and the check that nothing was written
// outside the child's temp folder.
import { spawn, type ChildProcess } from "node:child_process";
import { chown, mkdtemp, writeFile } from "node:fs/promises";
import { join } from "node:path";
import fc from "fast-check";
import { inject } from "vitest";
import { find } from "./find.js";
import type { InputOf, Outcome, Reply, RequestKind, StrayReport } from "./protocol.js";

/**
 * The uid of every fuzz child: a number no account and no file on the host has, so that every
 * file it owns was made by a fuzz child. Dropping root also keeps a run whose configuration
 * falls back to the defaults (/proc/sysrq-trigger, /var/lib/hb) from acting on the host.
 */
export const FUZZ_UID = 64_999;
const asRoot = process.getuid?.() === 0;

/** Runs per property: HB_FUZZ_RUNS scales them (a longer hunt), HB_FUZZ_SEED replays a run. */
export function fuzzParameters(numRuns: number): fc.Parameters<unknown> {
  const scale = Number(process.env.HB_FUZZ_RUNS ?? "1");
  return { seed: inject("fuzzSeed"), numRuns: Math.max(1, Math.round(numRuns * (Number.isFinite(scale) && scale > 0 ? scale : 1))) };
}

/** Printed once per file, so any failure can be replayed with HB_FUZZ_SEED. */
export function printSeed(): void {
  console.log(`fuzz seed: ${inject("fuzzSeed")} (replay with HB_FUZZ_SEED=${inject("fuzzSeed")})`);
}

export type RunOutcome = Outcome | { readonly outcome: "hang"; readonly message: string } | { readonly outcome: "exited"; readonly message: string };
export type Judged = RunOutcome & { readonly strays: readonly StrayReport[] };

interface Pending {
  readonly id: number;
  readonly resolve: (outcome: RunOutcome) => void;
}

/** One fuzz child, restarted after a hang or an exit. */
export class FuzzChild {
  private child: ChildProcess | undefined;
  private pending: Pending | undefined;
  private nextId = 1;
  private strays: StrayReport[] = [];
  private output = "";

  private constructor(
    readonly folder: string,
    private readonly driver: string,
  ) {}

  /** A child with a fresh folder of its own (owned by its uid) under the run's temp folder. */
  static async start(name: string, prepare?: (folder: string) => Promise<void>): Promise<FuzzChild> {
    const folder = await mkdtemp(join(inject("fuzzRoot"), `${name}-`));
    await prepare?.(folder);
    if (asRoot) await chownTree(folder);
    const child = new FuzzChild(folder, inject("fuzzDriver"));
    await child.spawn();
    return child;
  }

  private spawn(): Promise<void> {
    const node = [process.execPath, "--max-old-space-size=512", this.driver];
    const [file, ...args] = asRoot ? ["setpriv", `--reuid=${FUZZ_UID}`, `--regid=${FUZZ_UID}`, "--clear-groups", ...node] : node;
    const child = spawn(file as string, args, {
      cwd: this.folder,
      // Nothing of the parent's environment: HOME and TMPDIR point into the folder too.
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: this.folder, TMPDIR: this.folder, LANG: "C.UTF-8" },
      stdio: ["ignore", "pipe", "pipe", "ipc"],
      // Its own process group: a hang is ended with every process it started.
      detached: true,
    });
    this.child = child;
    // hb writes through deps.stdout/stderr only: anything on the child's own streams is a finding.
    child.stdout?.on("data", (chunk: Buffer) => void (this.output += chunk.toString()));
    child.stderr?.on("data", (chunk: Buffer) => void (this.output += chunk.toString()));
    return new Promise((resolve, reject) => {
      child.on("message", (message: Reply | StrayReport) => {
        if ("ready" in message) resolve();
        else if ("stray" in message) this.strays.push(message);
        else if (this.pending?.id === message.id) this.finish(message);
      });
      child.on("exit", (code, signal) => {
        if (this.child === child) this.child = undefined;
        reject(new Error(`the fuzz child exited before it was ready: ${code ?? signal}: ${this.output}`));
        this.finish({ outcome: "exited", message: `the fuzz child exited (${code ?? signal}): ${this.output.slice(-2000)}` });
      });
    });
  }

  private finish(outcome: RunOutcome): void {
    const pending = this.pending;
    this.pending = undefined;
    pending?.resolve(outcome);
  }

  /**
   * Runs one input. A run that has not answered within boundMs is a hang: the child and all it
   * started are killed and a new one takes over. (A bound, not a speed assertion: it is many
   * times what any run takes.)
   */
  async run<K extends RequestKind>(kind: K, input: InputOf<K>, boundMs: number): Promise<Judged> {
    if (this.child === undefined) await this.spawn();
    const id = this.nextId++;
    this.strays = [];
    const outcome = await new Promise<RunOutcome>((resolve) => {
      const timer = setTimeout(() => {
        this.finish({ outcome: "hang", message: `no answer within ${boundMs} ms` });
        this.kill();
      }, boundMs);
      this.pending = {
        id,
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
      };
      this.child?.send({ id, kind, input });
    });
    // An error thrown by a timer the run left behind shows up just after its answer.
    await new Promise((resolve) => setImmediate(resolve));
    return { ...outcome, strays: this.strays };
  }

  private kill(): void {
    const child = this.child;
    this.child = undefined;
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  }

  /** What the child printed on its own stdout/stderr (hb should print nothing there). */
  takeOutput(): string {
    const output = this.output;
    this.output = "";
    return output;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.disconnect();
    const timer = setTimeout(() => this.kill(), 5_000);
    await exited;
    clearTimeout(timer);
    this.child = undefined;
  }
}

async function chownTree(folder: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const chownR = spawn("chown", ["-R", "-h", `${FUZZ_UID}:${FUZZ_UID}`, folder], { stdio: "ignore" });
    chownR.on("error", reject);
    chownR.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`chown -R ${folder}: exit ${code}`))));
  });
  await chown(folder, FUZZ_UID, FUZZ_UID);
}

/** A file whose modification time marks the start of a property's runs. */
export async function writeMarker(folder: string): Promise<string> {
  const marker = join(folder, "..", `${folder.split("/").at(-1) ?? "fuzz"}.marker`);
  await writeFile(marker, "");
  return marker;
}

/**
 * What the fuzz children wrote outside the run's temp folder: entries owned by FUZZ_UID in any
 * world-writable folder of a local filesystem, and world-writable files modified since the
 * marker. FUZZ_UID owns nothing else and is in no group, so those folders (listed once per run,
 * see global-setup.ts) are the only places it can create anything, and a folder it created is
 * itself such an entry. (A POSIX ACL granting it write would be missed: none names this uid.)
 * As root only: without a uid of its own a child's writes cannot be told apart from everyone
 * else's, and `null` says the check could not be made.
 *
 * What this proves: no file was created or changed by the code under test outside the folder.
 * It does not see writes the kernel refused (EACCES on root's files): those fail the command,
 * which then has to end with a named error like any other.
 */
export async function writesOutside(marker: string): Promise<string[] | null> {
  if (!asRoot) return null;
  const root = inject("fuzzRoot");
  const { folders, files } = inject("fuzzWritable");
  const found: string[] = [];
  if (folders.length > 0) found.push(...(await find([...folders, "-mindepth", "1", "-maxdepth", "1", "(", "-path", root, "-prune", ")", "-o", "-uid", String(FUZZ_UID), "-print"])));
  if (files.length > 0) found.push(...(await find([...files, "-maxdepth", "0", "-newer", marker, "-print"])));
  return [...new Set(found)];
}

/** The assertion every property makes on one run: it ended, and no unnamed error escaped. */
export function problemOf(judged: Judged): string | undefined {
  if (judged.strays.length > 0) return `an error escaped after the run: ${judged.strays.map((stray) => `${stray.stray}: ${stray.message}`).join("\n")}`;
  switch (judged.outcome) {
    case "hang":
      return `hang: ${judged.message}`;
    case "exited":
      return `the process died: ${judged.message}`;
    case "unnamed":
      return `an unnamed error escaped: ${judged.message}`;
    default:
      return undefined;
  }
}

/** fast-check over one kind of input: each run must end, on time, with a result or a named error. */
export async function fuzz<K extends RequestKind>(child: FuzzChild, kind: K, inputs: fc.Arbitrary<InputOf<K>>, numRuns: number, boundMs: number, check?: (judged: Judged, input: InputOf<K>) => string | undefined): Promise<void> {
  const tally = new Map<string, number>();
  await fc.assert(
    fc.asyncProperty(inputs, async (input) => {
      const judged = await child.run(kind, input, boundMs);
      const problem = problemOf(judged) ?? check?.(judged, input);
      if (problem !== undefined) throw new Error(problem);
      const label = judged.outcome === "named" ? judged.code : judged.outcome === "ok" && kind === "argv" ? `exit ${(judged.result as { code: number }).code}` : judged.outcome;
      tally.set(label, (tally.get(label) ?? 0) + 1);
    }),
    fuzzParameters(numRuns),
  );
  // How the runs ended: a property whose inputs all fail at the first check proves little.
  console.log(`fuzz ${kind}: ${[...tally].sort(([, a], [, b]) => b - a).map(([label, count]) => `${label} ${count}`).join(", ")}`);
}

/** The last test of every fuzz file: the child printed nothing of its own and wrote only in its folder. */
export async function checkNothingOutside(child: FuzzChild, marker: string): Promise<{ output: string; writes: string[] | null }> {
  await child.stop();
  const writes = await writesOutside(marker);
  if (writes === null) console.warn("SKIPPED: the check for writes outside the temp folder needs root (a uid of its own for the fuzz child)");
  return { output: child.takeOutput(), writes };
}
