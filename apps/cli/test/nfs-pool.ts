// A folder presented as an NFS pool by a mount table of its own (hb.mounts.file), with the
// agent.properties that points at that table: how `hb nfs` and the entry points see a pool.
import { mkdir, writeFile } from "node:fs/promises";
import type { TempDir } from "@hb/testkit";

export class NfsPool {
  readonly mount: string;
  readonly mounts: string;
  readonly properties: string;
  constructor(
    readonly dir: TempDir,
    mountName: string,
    private readonly line: (mount: string) => string,
  ) {
    this.mount = dir.file(mountName);
    this.mounts = dir.file("mounts");
    this.properties = dir.file("agent.properties");
  }

  /** KVMHA/ in the pool, the mount table (listing the pool when mounted) and agent.properties. */
  async prepare(options: { readonly mounted?: boolean; readonly tableBefore?: string; readonly properties?: string } = {}): Promise<void> {
    await mkdir(`${this.mount}/KVMHA`, { recursive: true });
    await writeFile(this.mounts, `${options.tableBefore ?? ""}${options.mounted === false ? "" : this.tableLine()}`);
    await this.setProperties(options.properties ?? "");
  }

  /** The pool's line of the mount table. */
  tableLine(): string {
    return this.line(this.mount);
  }

  setProperties(extra: string): Promise<void> {
    return writeFile(this.properties, `hb.mounts.file=${this.mounts}\n${extra}`);
  }

  file(name: string): string {
    return `${this.mount}/KVMHA/${name}`;
  }

  hbFile(host: string): string {
    return this.file(`hb-${host}`);
  }
}
