// The storage check of hb.fence.verify: one more bounded heartbeat write before a -c fences.
// It vetoes on a write that succeeds, which is NOT split-brain safe (the operator chose it).
import type { Clock, Executor } from "@hb/core";
import { findNfsMount, readMountTable } from "./mounts.js";
import { validateHostId } from "./paths.js";
import { writeHeartbeat } from "./write.js";

export interface WriteCheckOptions {
  readonly executor: Executor;
  readonly clock: Pick<Clock, "wallMs">;
  /** The pool's mount point (-m); undefined when the agent gave none. */
  readonly mountPoint: string | undefined;
  /** This host's id for hb-<id>; undefined when none is configured. */
  readonly hostId: string | undefined;
  /** `hb.mounts.file`. */
  readonly mountsFile: string;
  readonly deadlineMs: number;
}

export type WriteCheck =
  | { readonly ok: true; readonly detail: string; readonly evidence: { readonly file: string; readonly durationMs: number; readonly readback: string } }
  /** No proof: why, in words, for the fence record. */
  | { readonly ok: false; readonly note: string };

export async function checkHeartbeatWrite(options: WriteCheckOptions): Promise<WriteCheck> {
  const { mountPoint, hostId, mountsFile } = options;
  if (mountPoint === undefined) return { ok: false, note: "hb.fence.verify=storage: no -m, so no pool to write to" };
  if (hostId === undefined) return { ok: false, note: "hb.fence.verify=storage: no host id for the heartbeat file (set hb.host.ip or private.network.device)" };
  try {
    validateHostId(hostId);
    // A pool that is not mounted would take the write on the local disk under it: no proof at all.
    const mount = findNfsMount(await readMountTable(mountsFile), mountPoint);
    if (mount === undefined) return { ok: false, note: `hb.fence.verify=storage: ${mountPoint} is not an NFS mount in ${mountsFile}, so a write there proves nothing` };
  } catch (error) {
    return { ok: false, note: `hb.fence.verify=storage: ${(error as Error).message}` };
  }
  return oneMoreWrite(options, mountPoint, hostId);
}

/** The write itself, once the pool is known to be mounted: shared with SharedMountPoint's check. */
export async function oneMoreWrite(options: Pick<WriteCheckOptions, "executor" | "clock" | "deadlineMs">, mountPoint: string, hostId: string): Promise<WriteCheck> {
  if (options.deadlineMs <= 0) return { ok: false, note: "hb.fence.verify=storage: no time left for a heartbeat write" };
  const result = await writeHeartbeat({ executor: options.executor, mountPoint, hostId, nowEpochSeconds: Math.floor(options.clock.wallMs() / 1000), deadlineMs: options.deadlineMs });
  if (!result.ok) return { ok: false, note: `one more heartbeat write to ${result.file} failed: ${result.message}` };
  return {
    ok: true,
    detail: `one more heartbeat write to ${result.file} succeeded in ${Math.round(result.durationMs)} ms (read-back ${result.readback}); hb.fence.verify=storage vetoes on that, which is NOT split-brain safe`,
    evidence: { file: result.file, durationMs: Math.round(result.durationMs), readback: result.readback },
  };
}
