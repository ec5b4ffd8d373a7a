import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TempDir {
  readonly path: string;
  /** Absolute path of a file inside the folder. */
  file(name: string): string;
  remove(): Promise<void>;
}

/** A fresh folder under the system temp dir; `remove()` deletes it and everything in it. */
export async function makeTempDir(prefix = "hb-test-"): Promise<TempDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return {
    path,
    file: (name) => join(path, name),
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
