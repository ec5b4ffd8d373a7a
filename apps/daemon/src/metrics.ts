import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { TARGET_STATES, type LoopEvent } from "@hb/core";
import { VETO_CHECKS, type FenceVetoReport, type VetoCheck, type VetoSummary } from "@hb/protocol";

/** The errno code in an inconclusive attempt's message (EMFILE, ENOMEM…), a closed set for the metric's label. */
export function ownFaultCodeOf(message: string): string {
  return /\b(EMFILE|ENFILE|EAGAIN|ENOMEM)\b/.exec(message)?.[1] ?? (/spawn|start/i.test(message) ? "spawn" : "other");
}

/** Prometheus metrics of hbd, fed from the loop's events. */
export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly latency = new Histogram({
    name: "hb_attempt_latency_seconds",
    help: "Latency of heartbeat attempts (a timeout counts as the deadline)",
    labelNames: ["pool", "result"] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 20, 30, 45, 60, 120],
    registers: [this.registry],
  });
  private readonly failures = new Gauge({ name: "hb_consecutive_failures", help: "Failed attempts in a row", labelNames: ["pool"] as const, registers: [this.registry] });
  private readonly state = new Gauge({ name: "hb_target_state", help: "1 for the target's current state", labelNames: ["pool", "state"] as const, registers: [this.registry] });
  private readonly decisions = new Counter({
    name: "hb_decisions_total",
    help: "Fence decisions made",
    labelNames: ["pool", "action", "is_fence", "mode"] as const,
    registers: [this.registry],
  });
  readonly lag = new Gauge({ name: "hb_event_loop_lag_p99_seconds", help: "p99 event-loop delay of hbd over the last window", registers: [this.registry] });
  readonly stuck = new Gauge({ name: "hb_stuck_children", help: "Child processes killed at their deadline that have not exited", registers: [this.registry] });
  readonly vetoes = new Counter({ name: "hb_fence_vetoes_total", help: "Fence requests vetoed or deferred", labelNames: ["reason"] as const, registers: [this.registry] });
  private readonly inconclusive = new Counter({
    name: "hb_inconclusive_attempts_total",
    help: "Attempts hb could not make for its own reasons (descriptors, memory, a spawn that failed): never failed tries",
    labelNames: ["pool", "code"] as const,
    registers: [this.registry],
  });
  readonly maintenance = new Gauge({ name: "hb_maintenance", help: "1 while fencing is suspended for maintenance", registers: [this.registry] });
  private vetoed = 0;
  private deferred = 0;
  private readonly byCheck: Record<VetoCheck, number> = Object.fromEntries(VETO_CHECKS.map((check) => [check, 0])) as Record<VetoCheck, number>;
  private lastVeto: VetoSummary["last"] = null;

  /** A -c entry point did not fence: the metric's label is the check (a closed set), never free text. */
  recordVeto(report: FenceVetoReport, wallMs: number): VetoSummary {
    this.vetoes.inc({ reason: report.check });
    if (report.outcome === "vetoed") this.vetoed++;
    else this.deferred++;
    this.byCheck[report.check]++;
    const { outcome, check, source, target, detail } = report;
    this.lastVeto = { at: new Date(wallMs).toISOString(), outcome, check, source, target, detail };
    return this.vetoSummary();
  }

  vetoSummary(): VetoSummary {
    return { total: this.vetoed + this.deferred, vetoed: this.vetoed, deferred: this.deferred, byCheck: { ...this.byCheck }, last: this.lastVeto };
  }

  observe(event: LoopEvent): void {
    switch (event.type) {
      case "attempt": {
        const { record } = event;
        this.latency.observe({ pool: event.target, result: record.result }, record.latencyMs / 1000);
        if (record.result === "ok") this.failures.set({ pool: event.target }, 0);
        else if (record.result === "inconclusive") this.inconclusive.inc({ pool: event.target, code: ownFaultCodeOf(record.message) });
        else this.failures.inc({ pool: event.target });
        break;
      }
      case "state":
        for (const state of TARGET_STATES) this.state.set({ pool: event.change.target, state }, state === event.change.to ? 1 : 0);
        break;
      case "decision":
        this.decisions.inc({ pool: event.decision.target, action: event.decision.action, is_fence: String(event.decision.isFence), mode: event.decision.mode });
        break;
      default:
        break;
    }
  }

  forget(pool: string): void {
    this.failures.remove({ pool });
    for (const state of TARGET_STATES) this.state.remove({ pool, state });
  }
}
