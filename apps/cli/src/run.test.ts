import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { makeTempDir } from "@hb/testkit";
import { ProcessExecutor, SystemClock } from "@hb/core";
import { runHb } from "../test/harness.js";
import { run, type RunDeps } from "./run.js";

const sample = fileURLToPath(new URL("../../../examples/agent.properties", import.meta.url));
const temp = await makeTempDir("hb-cli-");
afterAll(() => temp.remove());

const hb = (argv: string[], env: RunDeps["env"] = {}) => runHb(argv, { env, version: "1.2.3" });

async function fileWith(name: string, text: string): Promise<string> {
  const path = temp.file(name);
  await writeFile(path, text);
  return path;
}

describe("hb config show", () => {
  it("prints typed values, their sources and problems as JSON", async () => {
    const file = await fileWith("show.properties", "kvm.heartbeat.update.frequency=10000\nreboot.host.and.alert.management.on.heartbeat.timeout=no\nkvm.heartbeat.update.max.tries=x\n");
    const { code, stdout } = await hb(["config", "show", "--json", "--file", file]);
    expect(code).toBe(0);
    const shown = JSON.parse(stdout);
    expect(shown.values["kvm.heartbeat.update.frequency"]).toBe(10000);
    expect(shown.values["reboot.host.and.alert.management.on.heartbeat.timeout"]).toBe(false);
    expect(shown.values["kvm.heartbeat.update.max.tries"]).toBe(5);
    expect(shown.values["heartbeat.update.timeout"]).toBe(60000);
    expect(shown.sources["kvm.heartbeat.update.frequency"]).toEqual({ line: 1 });
    expect(shown.sources["heartbeat.update.timeout"]).toBe("default");
    expect(shown.problems).toEqual([
      expect.objectContaining({ key: "kvm.heartbeat.update.max.tries", line: 3, value: "x", message: "not a whole number; using the default 5" }),
    ]);
  });

  it("shows the bundled sample as a table with lines and defaults", async () => {
    const { code, stdout } = await hb(["config", "show", "--file", sample]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^kvm\.heartbeat\.fence\.action\s+graceful-reboot\s+line \d+$/m);
    expect(stdout).toMatch(/^kvm\.heartbeat\.update\.max\.tries\s+5\s+default$/m);
  });

  it("exits 2 naming the path when the file is missing", async () => {
    const missing = temp.file("missing.properties");
    const { code, stderr } = await hb(["config", "show", "--file", missing]);
    expect(code).toBe(2);
    expect(stderr).toBe(`hb: cannot read ${missing}: no such file\n`);
  });

  it("reads $AGENT_PROPS when there is no --file", async () => {
    const file = await fileWith("env.properties", "kvm.heartbeat.fence.action=log-only\n");
    const { stdout } = await hb(["config", "show", "--json"], { AGENT_PROPS: file });
    expect(JSON.parse(stdout).values["kvm.heartbeat.fence.action"]).toBe("log-only");
  });

  it("exits 2 naming a file of binary data, as every command that reads the file does", async () => {
    const file = await fileWith("binary.properties", "kvm.heartbeat.fence.action=log-only\n\0\0\0\n");
    for (const verb of ["show", "validate"]) {
      const { code, stdout, stderr } = await hb(["config", verb, "--file", file]);
      expect({ code, stdout, stderr }).toEqual({ code: 2, stdout: "", stderr: `hb: ${file} holds binary data, not properties\n` });
    }
  });

  it("exits 2 with the line for a file Java cannot load", async () => {
    const file = await fileWith("syntax.properties", "a=1\nb=\\u12\n");
    const { code, stderr } = await hb(["config", "show", "--file", file]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^hb: line 2: .*\n$/);
  });
});

describe("hb config validate", () => {
  it("prints FILE:LINE: KEY: message per problem and exits 1", async () => {
    const file = await fileWith("bad.properties", "# x\nkvm.heartbeat.fence.action=shutdown\nheartbeat.update.timeout=0\n");
    const { code, stdout } = await hb(["config", "validate", "--file", file]);
    expect(code).toBe(1);
    expect(stdout.split("\n").filter(Boolean)).toEqual([
      `${file}:2: kvm.heartbeat.fence.action: not a fence action (hard-reboot, graceful-reboot, restart-agent, log-only, custom; reboot = hard-reboot); using the default hard-reboot`,
      `${file}:3: heartbeat.update.timeout: must be more than 0 milliseconds; using the default 60000`,
    ]);
  });

  it("exits 0 on the bundled sample", async () => {
    const { code, stdout } = await hb(["config", "validate", "--file", sample]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${sample}: no problems\n`);
  });
});

describe("hb config get", () => {
  it("prints the raw value exactly as Java reads it, for any key", async () => {
    const file = await fileWith("get.properties", "guid = abc \\\n   def  \nkeystore.passphrase=s\\u00e9cret\n");
    expect(await hb(["config", "get", "guid", "--file", file])).toMatchObject({ code: 0, stdout: "abc def  \n" });
    expect(await hb(["config", "get", "keystore.passphrase", "--file", file])).toMatchObject({ code: 0, stdout: "sécret\n" });
  });

  it("exits 1 with no output when the key is absent", async () => {
    const file = await fileWith("get2.properties", "a=1\n");
    expect(await hb(["config", "get", "b", "--file", file])).toEqual({ code: 1, stdout: "", stderr: "" });
  });
});

describe("hb config set and unset", () => {
  it("edits one line in place and leaves every other byte", async () => {
    const file = await fileWith("edit.properties", "# keep me\r\nkvm.heartbeat.fence.action = reboot\r\nother=1");
    const { code, stdout } = await hb(["config", "set", "kvm.heartbeat.fence.action", "log-only", "--file", file]);
    expect(code).toBe(0);
    expect(stdout).toBe(`${file}:2: kvm.heartbeat.fence.action=log-only\n`);
    expect(await readFile(file, "utf8")).toBe("# keep me\r\nkvm.heartbeat.fence.action = log-only\r\nother=1\r\n");
  });

  it("refuses a value hb would not take, unless forced", async () => {
    const file = await fileWith("refuse.properties", "a=1\n");
    const refused = await hb(["config", "set", "kvm.heartbeat.update.max.tries", "0", "--file", file]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/refused: must be 1 or more/);
    expect(await readFile(file, "utf8")).toBe("a=1\n");
    const forced = await hb(["config", "set", "kvm.heartbeat.update.max.tries", "0", "--file", file, "--force"]);
    expect(forced.code).toBe(0);
    expect(await readFile(file, "utf8")).toBe("a=1\nkvm.heartbeat.update.max.tries=0\n");
  });

  it("unsets every occurrence and says which default applies", async () => {
    const file = await fileWith("unset.properties", "kvm.heartbeat.update.max.tries=3\na=1\nkvm.heartbeat.update.max.tries=4\n");
    const { code, stdout } = await hb(["config", "unset", "kvm.heartbeat.update.max.tries", "--file", file]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/removed; the default 5 applies/);
    expect(await readFile(file, "utf8")).toBe("a=1\n");
    expect((await hb(["config", "unset", "kvm.heartbeat.update.max.tries", "--file", file])).stdout).toMatch(/was not set/);
  });

  it("exits 2 naming the path when the file is missing, and creates nothing", async () => {
    const missing = temp.file("absent.properties");
    expect((await hb(["config", "set", "a", "1", "--file", missing])).code).toBe(2);
    await expect(readFile(missing)).rejects.toThrow();
  });
});

describe("hb timing explain", () => {
  it("explains the timeline in seconds and the invariants it breaks", async () => {
    const { code, stdout } = await hb(["timing", "explain", "--file", sample]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/t =\s+400 s\s+latest fence decision/);
    expect(stdout).toMatch(/upstream decision at 410 s, reset at 415 s/);
    expect(stdout).toMatch(/WARNING neighbour-threshold-covers-writer/);
    // The sample uses graceful-reboot: whether this host can bound it is said either way.
    expect(stdout).toMatch(/graceful-reboot has (NO )?guaranteed deadline/);
  });

  it("runs on the defaults when the file is missing, and says so once on stderr", async () => {
    const missing = temp.file("gone.properties");
    const { code, stdout, stderr } = await hb(["timing", "explain", "--json", "--file", missing]);
    expect(code).toBe(0);
    expect(stderr).toBe(`hb: cannot read ${missing}: no such file; using CloudStack's defaults\n`);
    const model = JSON.parse(stdout);
    expect(model.decisionLatestMs).toBe(400000);
    expect(model.invariants.find((i: { id: string }) => i.id === "fence-protects-disks").holds).toBe(true);
  });
});

describe("usage", () => {
  it.each([[["config"]], [["config", "get"]], [["nope"]], [["config", "show", "--bogus"]], [["config", "get", "k", "--json"]]])(
    "exits 2 with one line for %j",
    async (argv) => {
      const { code, stderr } = await hb(argv);
      expect(code).toBe(2);
      expect(stderr.split("\n").filter(Boolean)).toHaveLength(1);
    },
  );

  it("prints help and the version", async () => {
    expect((await hb(["--help"])).stdout).toMatch(/hb config show/);
    expect((await hb(["--version"])).stdout).toBe("hb 1.2.3\n");
  });
});

describe("help of every group", () => {
  // hb status --help and hb maintenance --help used to fail with "Unknown option '--help'".
  it.each([
    ["status", /^ {2}hb status \[--json\]/m],
    ["maintenance", /^ {2}hb maintenance on --ttl 30m \| off/m],
    ["config", /^ {2}hb config set KEY VALUE/m],
    ["timing", /^ {2}hb timing explain/m],
    ["simulate", /durationMs at most 604800000 ms \(7 days\)/],
    ["nfs", /hb nfs/],
    ["drbd", /hb drbd health/],
  ])("hb %s --help prints its usage and exits 0", async (group, usage) => {
    for (const flag of ["--help", "-h"]) {
      const { code, stdout, stderr } = await hb([group, flag]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      expect(stdout).toMatch(usage);
    }
  });

  it("takes --help after other words too, but not as a value after --, nor -h of upstream's scripts", async () => {
    expect(await hb(["status", "--json", "--help"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/hb status/) });
    expect(await hb(["maintenance", "on", "--help"])).toMatchObject({ code: 0, stdout: expect.stringMatching(/hb maintenance on/) });
    expect(await hb(["config", "get", "--file", sample, "--", "--help"])).toEqual({ code: 1, stdout: "", stderr: "" });
    expect((await hb(["compat", "--help"])).stdout).toMatch(/hb compat kvmheartbeat/);
  });
});

describe("errors", () => {
  const throwing = (error: unknown) => (text: string) => {
    if (text.startsWith("hb 1.2.3")) throw error;
  };

  it("prints an internal error as one line saying where its details went, no stack (exit 70)", async () => {
    const saved: string[] = [];
    let stderr = "";
    const bug = new TypeError("Cannot read properties of null (reading 'targets')\n    at forged (x.js:1:1)");
    const code = await run(
      ["--version"],
      { stdout: throwing(bug), stderr: (text) => void (stderr += text), env: {}, version: "1.2.3", executor: new ProcessExecutor(), clock: new SystemClock() },
      { saveDetails: (text) => (saved.push(text), "/tmp/hb-error-x/details.txt") },
    );
    expect(code).toBe(70);
    expect(stderr).toBe(
      "hb: internal error (a bug in hb, please report it): TypeError: Cannot read properties of null (reading 'targets')\\n    at forged (x.js:1:1); details in /tmp/hb-error-x/details.txt, or run again with HB_DEBUG=1 to print them\n",
    );
    expect(saved[0]).toMatch(/^hb 1\.2\.3 internal error\nargv: \["--version"\]\nTypeError: Cannot read properties of null[\s\S]*\n {4}at .*run\.test\.ts/);
  });

  it("prints the stack under HB_DEBUG=1, and says how to get it when the details cannot be kept", async () => {
    const deps = (sink: (text: string) => void) => ({ stdout: throwing(new RangeError("Invalid string length")), stderr: sink, env: {}, version: "1.2.3", executor: new ProcessExecutor(), clock: new SystemClock() });
    let debug = "";
    expect(await run(["--version"], deps((text) => void (debug += text)), { debug: true })).toBe(70);
    expect(debug).toMatch(/^hb: internal error \(a bug in hb, please report it\): RangeError: Invalid string length\nhb 1\.2\.3 internal error\n[\s\S]*\n {4}at /);
    let plain = "";
    const failing = () => {
      throw new Error("EROFS");
    };
    expect(await run(["--version"], deps((text) => void (plain += text)), { saveDetails: failing })).toBe(70);
    expect(plain).toBe("hb: internal error (a bug in hb, please report it): RangeError: Invalid string length; run again with HB_DEBUG=1 to print them\n");
  });

  it("prints a named error on one line with control characters made visible, whatever its input held", async () => {
    const path = temp.file("no\nhb: DECISION reboot\u001b[2J.properties");
    const { code, stderr } = await hb(["config", "show", "--file", path]);
    expect(code).toBe(2);
    expect(stderr).toBe(`hb: cannot read ${temp.file("no\\nhb: DECISION reboot\\e[2J.properties")}: no such file\n`);
  });
});
