import { fileURLToPath } from "node:url";

/** The native storage worker's file name: beside hb's executable in the packages (/usr/lib/hb). */
export const NATIVE_WORKER_NAME = "hb-storage-worker";

/**
 * Where `pnpm build` puts the native worker in a checkout (native/build.mjs); undefined where this
 * module has no file of its own (inside a bundle).
 */
export function nativeWorkerBuildPath(): string | undefined {
  try {
    return fileURLToPath(new URL(`../native/build/${NATIVE_WORKER_NAME}`, import.meta.url));
  } catch {
    return undefined;
  }
}
