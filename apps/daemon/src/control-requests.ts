import type { Clock, HeartbeatLoop } from "@hb/core";
import type { ControlRequestTaken, MaintenanceAnswer, ReloadAnswer, StatusDocument, VetoSummary } from "@hb/protocol";
import type { Logger } from "pino";
import type { DaemonMetrics } from "./metrics.js";

/** What a control request acts on. */
export interface ControlTarget {
  readonly loop: HeartbeatLoop | undefined;
  readonly metrics: DaemonMetrics;
  readonly log: Logger;
  readonly clock: Clock;
  status(): StatusDocument;
  reload(): Promise<ReloadAnswer>;
}

/** The answer to one control request (the socket's framing is control.ts's). */
export async function answerControl(request: ControlRequestTaken, target: ControlTarget): Promise<MaintenanceAnswer | ReloadAnswer | StatusDocument | VetoSummary> {
  const { loop, metrics, log } = target;
  if (loop === undefined) throw new Error("not running");
  switch (request.op) {
    case "maintenance-on": {
      loop.suspendFencing(request.ttlMs, request.reason);
      metrics.maintenance.set(1);
      log.warn({ ttlMs: request.ttlMs, reason: request.reason }, "maintenance: fencing suspended");
      const { maintenance } = target.status();
      return { maintenanceUntil: maintenance };
    }
    case "maintenance-off":
      loop.resumeFencing();
      metrics.maintenance.set(0);
      log.warn("maintenance ended: fencing active");
      return { maintenanceUntil: null };
    case "reload":
      return target.reload();
    case "status":
      return target.status();
    case "fence-veto":
      log.warn({ outcome: request.outcome, check: request.check, source: request.source, target: request.target }, `${request.source} -c did not fence (${request.outcome}): ${request.detail}`);
      return metrics.recordVeto(request, target.clock.wallMs());
  }
}
