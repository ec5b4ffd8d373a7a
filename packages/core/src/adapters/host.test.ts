import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BOOT_ID_FILE, readBootId } from "./host.js";

describe("readBootId", () => {
  let folder: string;
  afterEach(() => rmSync(folder, { recursive: true, force: true }));
  const scratch = () => (folder = mkdtempSync(join(tmpdir(), "hb-boot-id-")));

  it("reads the kernel's boot id, which procfs reports as 0 bytes long", () => {
    scratch();
    expect(readBootId(BOOT_ID_FILE)).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("gives null at once for a FIFO in its place, instead of blocking on it", () => {
    const fifo = join(scratch(), "boot_id");
    execFileSync("mkfifo", [fifo]);
    expect(readBootId(fifo)).toBeNull();
  });

  it("gives null for a file far longer than a boot id, and for a symbolic link", () => {
    const long = join(scratch(), "long");
    writeFileSync(long, "0".repeat(1 << 20));
    expect(readBootId(long)).toBeNull();
    const link = join(folder, "link");
    symlinkSync(BOOT_ID_FILE, link);
    expect(readBootId(link)).toBeNull();
  });
});
