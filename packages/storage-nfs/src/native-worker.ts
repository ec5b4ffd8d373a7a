import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The native storage worker's file name: beside hb's executable in the packages (/usr/lib/hb). */
export const NATIVE_WORKER_NAME = "hb-storage-worker";

/**
 * Where `pnpm build` put the native worker in a checkout (native/build.mjs), found from this
 * package's entry point (also when a bundle holds this module), else from this module's own
 * file; undefined when neither leads to one (a package installed from the registry).
 */
export function nativeWorkerBuildPath(): string | undefined {
  for (const base of [() => import.meta.resolve("@hb/storage-nfs"), () => import.meta.url]) {
    try {
      const path = fileURLToPath(new URL(`../native/build/${NATIVE_WORKER_NAME}`, base()));
      if (existsSync(path)) return path;
    } catch {
      // No file URL here (an executable's bundle): the next way, or none.
    }
  }
  return undefined;
}
