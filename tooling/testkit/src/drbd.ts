import { readFileSync } from "node:fs";
import { mkdir, readFile, rename, symlink, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { makeTempDir, type TempDir } from "./temp-dir.js";

// A stand-in drbdsetup and real-format DRBD output, shared by @hb/storage-drbd, hb and hbd tests.

/** The DRBD fixtures folder, with a trailing slash (drbd/fixtures/README.md describes each). */
export const DRBD_FIXTURES = fileURLToPath(new URL("../drbd/fixtures/", import.meta.url));
const SCRIPT = fileURLToPath(new URL("../drbd/fake-drbdsetup", import.meta.url));

export type FakeCommand = "events2" | "status" | "show";

export interface FakeAnswer {
  /** A file under drbd/fixtures to print. */
  readonly fixture?: string;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly exit?: number;
  readonly hang?: boolean;
  readonly delaySeconds?: number;
  /** Print lines on this stream without end, as a broken or hostile drbdsetup might. */
  readonly flood?: "stdout" | "stderr";
}

/** A fake drbdsetup in its own folder, answering each command as told (see drbd/fake-drbdsetup). */
export interface FakeDrbdsetup {
  /** Pass this as hb.drbd.drbdsetup. */
  readonly path: string;
  readonly dir: TempDir;
  answer(command: FakeCommand, answer: FakeAnswer): Promise<void>;
  /** The argument lists it was called with, one string per call. */
  calls(): Promise<string[]>;
  /** The pid of a call that hangs (written before it blocks). */
  pidOf(command: FakeCommand): Promise<number | undefined>;
  remove(): Promise<void>;
}

/** The text of one DRBD fixture, e.g. `drbdFixture("two-node-healthy.events2.txt")`. */
export function drbdFixture(name: string): Promise<string> {
  return readFile(`${DRBD_FIXTURES}${name}`, "utf8");
}

export async function makeFakeDrbdsetup(): Promise<FakeDrbdsetup> {
  const dir = await makeTempDir("hb-drbdsetup-");
  const path = dir.file("drbdsetup");
  await symlink(SCRIPT, path);
  let answers = 0;
  return {
    path,
    dir,
    // A new folder per answer, then the command's symlink swapped by rename: a call in flight
    // reads the old answer or the new one, never half of each.
    async answer(command, answer) {
      const folder = `${command}.${++answers}`;
      await mkdir(dir.file(folder));
      const write = async (name: string, text: string | undefined) => {
        if (text !== undefined) await writeFile(dir.file(`${folder}/${name}`), text);
      };
      await write("out", answer.fixture === undefined ? answer.stdout : await drbdFixture(answer.fixture));
      await write("err", answer.stderr);
      await write("exit", answer.exit === undefined ? undefined : String(answer.exit));
      await write("hang", answer.hang === true ? "" : undefined);
      await write("delay", answer.delaySeconds === undefined ? undefined : String(answer.delaySeconds));
      await write("flood", answer.flood);
      await symlink(folder, dir.file(`${folder}.link`));
      await rename(dir.file(`${folder}.link`), dir.file(command));
    },
    async calls() {
      const log = await readFile(dir.file("calls.log"), "utf8").catch(() => "");
      return log.split("\n").filter((line) => line !== "");
    },
    async pidOf(command) {
      const text = await readFile(dir.file(`${command}.pid`), "utf8").catch(() => "");
      return text.trim() === "" ? undefined : Number(text.trim());
    },
    remove: () => dir.remove(),
  };
}

/** Whether a process still runs: a zombie (killed, not yet reaped by its new parent) counts as gone. */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // /proc/PID/stat: "pid (comm) STATE …"; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

interface ShowResource {
  resource: string;
  options: Record<string, unknown>;
  connections?: { net?: Record<string, unknown> }[];
}

export interface DrbdShowVariant {
  /** Resources whose `quorum` is `off` (DRBD's default). */
  readonly quorumOff?: readonly string[];
  /** Resources whose first connection allows two primaries (CloudStack's live migration). */
  readonly twoPrimaries?: readonly string[];
}

/**
 * `drbdsetup show --show-defaults --json` for the fixtures, from the real-format show-safe.json
 * (LINSTOR's quorum majority with suspend-io): the resources named (all when undefined), with
 * quorum switched off or allow-two-primaries on where the variant says so.
 */
export function drbdShowJson(names: readonly string[] | undefined, variant: DrbdShowVariant = {}): string {
  const all = JSON.parse(readFileSync(`${DRBD_FIXTURES}show-safe.json`, "utf8")) as ShowResource[];
  const chosen = names === undefined ? all : all.filter((resource) => names.includes(resource.resource));
  for (const resource of chosen) {
    if (variant.quorumOff?.includes(resource.resource)) resource.options.quorum = "off";
    const net = resource.connections?.[0]?.net;
    if (net !== undefined && variant.twoPrimaries?.includes(resource.resource)) net["allow-two-primaries"] = true;
  }
  return `${JSON.stringify(chosen, null, 4)}\n`;
}
