// hb maintenance on/off: a bounded --ttl checked before anything is asked, and the request sent only
// over hbd's control socket once it passes the same ownership check as -c's (folder and socket owned
// by root, writable by no one else). A socket or folder someone else could have placed gets nothing.
import { chmod, chown, mkdir, symlink, writeFile } from "node:fs/promises";
import { fakeControlSocket, type FakeControlSocket, makeTempDir, type TempDir } from "@hb/testkit";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runHb } from "./harness.js";

let temp: TempDir;
let hbd: FakeControlSocket | undefined;
let file = "";
beforeEach(async () => {
  temp = await makeTempDir("hb-maintenance-");
  file = temp.file("agent.properties");
  await writeFile(file, `hb.state.dir=${temp.file("state")}\n`);
});
afterEach(async () => {
  await hbd?.close();
  hbd = undefined;
  await temp.remove();
});

// Stands in for hbd's control socket and grants anything: what it receives is what hb sent.
async function granting(state = temp.file("state")): Promise<FakeControlSocket> {
  hbd = await fakeControlSocket(state, (request) =>
    (request as { op?: string }).op === "maintenance-on" ? { maintenanceUntil: { until: "2026-11-26T20:00:00.000Z" } } : { maintenanceUntil: null },
  );
  return hbd;
}

describe("hb maintenance on --ttl", () => {
  it.each([
    ["0s", /--ttl "0s": suspends nothing; expected a duration such as 30m, 1h, 90s/],
    ["0", /--ttl "0": suspends nothing/],
    ["25h", /--ttl "25h": longer than 24 h, the longest maintenance hbd grants/],
    ["3000000000ms", /--ttl "3000000000ms": longer than 24 h/],
    ["99999999999999999999h", /--ttl "99999999999999999999h": longer than 24 h/],
  ])("refuses %s on the client side, with a named usage error (exit 2) and nothing sent", async (ttl, message) => {
    const control = await granting();
    const { code, stdout, stderr } = await runHb(["maintenance", "on", "--ttl", ttl, "--file", file]);
    expect([code, stdout]).toEqual([2, ""]);
    expect(stderr).toMatch(message);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(control.requests).toEqual([]);
  });

  it("sends the longest maintenance hbd grants, 24 h, and off", async () => {
    const control = await granting();
    expect(await runHb(["maintenance", "on", "--ttl", "24h", "--file", file])).toEqual({ code: 0, stdout: "fencing suspended until 2026-11-26T20:00:00.000Z; heartbeats continue\n", stderr: "" });
    expect(await runHb(["maintenance", "off", "--file", file])).toEqual({ code: 0, stdout: "maintenance ended: fencing active\n", stderr: "" });
    expect(control.requests).toEqual([{ op: "maintenance-on", ttlMs: 86_400_000, reason: "operator" }, { op: "maintenance-off" }]);
  });
});

describe("hb maintenance and hbd's control socket", () => {
  const untrusted: [name: string, plant: (state: string, socket: string) => Promise<unknown>, because: RegExp][] = [
    ["the folder owned by another user", (state) => chown(state, 65534, 65534), /state is owned by uid 65534, not root/],
    ["the socket owned by another user", (_state, socket) => chown(socket, 65534, 65534), /hbd\.sock is owned by uid 65534, not root/],
    ["an other-writable folder", (state) => chmod(state, 0o777), /state is writable by its group or others \(mode 0777\)/],
    ["a socket open to others", (_state, socket) => chmod(socket, 0o666), /hbd\.sock is open to its group or others \(mode 0666; hbd makes it 0600\)/],
  ];
  for (const [name, plant, because] of untrusted) {
    it(`with ${name}: sends nothing, and stops with a named error (exit 2)`, async (context) => {
      if (process.getuid?.() !== 0) return context.skip("changing owners needs root");
      const control = await granting();
      await plant(temp.file("state"), control.path);
      for (const argv of [["maintenance", "on", "--ttl", "1h", "--file", file], ["maintenance", "off", "--file", file]]) {
        const { code, stdout, stderr } = await runHb(argv);
        expect({ code, stdout }).toEqual({ code: 2, stdout: "" });
        expect(stderr).toMatch(/^hb: hbd's control socket cannot be trusted, nothing sent: /);
        expect(stderr).toMatch(because);
        expect(stderr.split("\n")).toHaveLength(2);
      }
      expect(control.requests).toEqual([]);
    });
  }

  it("with the state folder a symbolic link to hbd's real one: not followed, nothing sent", async () => {
    const control = await granting(temp.file("real-state"));
    await symlink(temp.file("real-state"), temp.file("state"));
    const { code, stderr } = await runHb(["maintenance", "off", "--file", file]);
    expect(code).toBe(2);
    expect(stderr).toContain(`hbd's control socket cannot be trusted, nothing sent: ${temp.file("state")} is not a folder (a symbolic link or another file)`);
    expect(control.requests).toEqual([]);
  });

  it("says hbd is not there when there is no socket (exit 2), and names hbd's refusal", async () => {
    await mkdir(temp.file("state"), { mode: 0o700 });
    expect(await runHb(["maintenance", "off", "--file", file])).toEqual({ code: 2, stdout: "", stderr: `hb: cannot ask hbd: no ${temp.file("state")}/hbd.sock (hbd is not running)\n` });
    hbd = await fakeControlSocket(temp.file("state"), () => `${JSON.stringify({ ok: false, error: "maintenance needs a ttl" })}\n`);
    expect(await runHb(["maintenance", "off", "--file", file])).toEqual({ code: 2, stdout: "", stderr: "hb: hbd refused: maintenance needs a ttl\n" });
  });

  it("prints an odd answer's until as escapes, or ? when there is none", async () => {
    hbd = await fakeControlSocket(temp.file("state"), () => ({ maintenanceUntil: { until: "soon\n\u001b[31mDECISION" } }));
    expect((await runHb(["maintenance", "on", "--ttl", "1h", "--file", file])).stdout).toBe("fencing suspended until soon\\n\\e[31mDECISION; heartbeats continue\n");
    await hbd.close();
    hbd = await fakeControlSocket(temp.file("state"), () => null);
    expect(await runHb(["maintenance", "on", "--ttl", "1h", "--file", file])).toMatchObject({ code: 0, stdout: "fencing suspended until ?; heartbeats continue\n" });
  });
});
