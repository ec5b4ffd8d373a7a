import { existsSync } from "node:fs";
import { nativeWorkerBuildPath } from "../src/index.js";

/** The native worker `pnpm build` made (native/build.mjs): the tests need it, as hbd does. */
export const NATIVE_WORKER = nativeWorkerBuildPath() ?? "";
if (!existsSync(NATIVE_WORKER)) throw new Error(`no native storage worker at ${NATIVE_WORKER}: run \`pnpm --filter @hb/storage-nfs build\` (needs gcc)`);

/**
 * Both storage workers, for the cases every one of them must pass: the Node child of the CLI's
 * one-shot commands and the native worker hbd keeps per pool. One table, so that their rules
 * (in place, full pool, planted files, hung storage) cannot drift apart.
 */
export const WORKERS = [
  { name: "the Node worker (a child per call)", worker: {} },
  { name: "the native worker (kept alive)", worker: { nativeWorker: NATIVE_WORKER } },
] as const;
