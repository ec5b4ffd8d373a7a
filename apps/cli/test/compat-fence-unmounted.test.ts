// A deliberate difference from upstream, pinned: kvmheartbeat.sh -c on a pool whose mount is gone
// and cannot be remounted prints "Failed to remount …" and exits 1 without fencing. hb fences: the
// VMs on a lost NFS mount keep running and may still hold files on that export.
import { spawn } from "node:child_process";
import { chmod, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { type FenceHost, roomyFenceHost } from "@hb/testkit";

const bin = fileURLToPath(new URL("../bin/hb.js", import.meta.url));
let fake: FenceHost | undefined;
afterEach(async () => {
  await fake?.temp.remove();
  fake = undefined;
});

describe("hb compat kvmheartbeat -c on a pool whose remount fails", () => {
  it("fences with the configured action, never tries mount(8), and prints nothing (upstream: 'Failed to remount', exit 1, no fence)", async () => {
    fake = await roomyFenceHost();
    const host = fake;
    const mountCalls = host.temp.file("mount-calls");
    // mount(8) on PATH fails as a lost NFS server makes it fail; the pool is absent from the mount table.
    await writeFile(`${host.bin}/mount`, `#!/bin/sh\necho "$@" >> '${mountCalls}'\necho 'mount.nfs: Connection timed out' >&2\nexit 32\n`);
    await chmod(`${host.bin}/mount`, 0o755);
    await writeFile(host.temp.file("mounts"), "proc /proc proc rw 0 0\n");
    await host.writeProperties([`hb.mounts.file=${host.temp.file("mounts")}`]);
    const mount = host.temp.file("mnt/6e1b9a4c-pool");

    const child = spawn(process.execPath, [bin, "compat", "kvmheartbeat", "-i", "10.0.0.2", "-p", "/export/primary", "-m", mount, "-c"], {
      env: { ...process.env, PATH: host.path, AGENT_PROPS: host.properties },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => void (output += chunk));
    child.stderr.on("data", (chunk: Buffer) => void (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));

    expect({ code, output }).toEqual({ code: 0, output: "" });
    expect(await host.eventNames()).toEqual(["logger -t heartbeat -- kvmheartbeat.sh will reboot system because it was unable to write the heartbeat to the storage.", "s", "sync", "b"]);
    expect((await host.records())[0]).toMatchObject({ source: "kvmheartbeat.sh", target: mount, isFence: true });
    await expect(readFile(mountCalls)).rejects.toMatchObject({ code: "ENOENT" });
  });
});
