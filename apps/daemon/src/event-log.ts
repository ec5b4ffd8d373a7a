import type { Clock, FenceDecision, LoopEvent } from "@hb/core";
import type { Logger } from "pino";
import { ownFaultCodeOf, type DaemonMetrics } from "./metrics.js";

/**
 * The loop's events as hbd keeps them: the log, the metrics, each pool's last progress, its
 * inconclusive attempts, and the decisions since start.
 */
export class EventLog {
  readonly decisions: FenceDecision[] = [];
  private readonly lastProgressMs = new Map<string, number>();
  private readonly inconclusive = new Map<string, number>();

  constructor(
    private readonly deps: { readonly log: Logger; readonly clock: Clock; readonly metrics: DaemonMetrics },
    /** After each attempt (the watchdog arms once every target has succeeded). */
    private readonly onAttempt: () => void,
  ) {}

  inconclusiveAttempts(target: string): number {
    return this.inconclusive.get(target) ?? 0;
  }

  /** Every pool made progress within budgetMs; one yet to make its first attempt counts as progressing. */
  progressing(pools: Iterable<string>, budgetMs: number): boolean {
    const now = this.deps.clock.monoMs();
    return [...pools].every((id) => now - (this.lastProgressMs.get(id) ?? now) <= budgetMs);
  }

  record(event: LoopEvent): void {
    const { log } = this.deps;
    this.deps.metrics.observe(event);
    switch (event.type) {
      case "attempt":
        this.lastProgressMs.set(event.target, this.deps.clock.monoMs());
        log.debug({ pool: event.target, ...event.record }, "attempt");
        if (event.record.result === "inconclusive") {
          this.inconclusive.set(event.target, this.inconclusiveAttempts(event.target) + 1);
          log.warn({ pool: event.target, seq: event.record.seq, code: ownFaultCodeOf(event.record.message) }, `inconclusive attempt (hb's own fault, not the storage's; not a failed try): ${event.record.message}`);
        }
        this.onAttempt();
        break;
      case "state":
        log[event.change.to === "dead" ? "error" : event.change.to === "healthy" ? "info" : "warn"]({ pool: event.change.target, from: event.change.from, to: event.change.to }, event.change.reason);
        break;
      case "decision": {
        const d = event.decision;
        this.decisions.push(d);
        log.fatal({ pool: d.target, action: d.action, isFence: d.isFence, mode: d.mode, suppressedBy: d.suppressedBy, arithmetic: d.arithmetic }, `fence decision: ${d.reason}`);
        break;
      }
      case "withheld":
        log.warn({ pool: event.target }, `no fence decision: ${event.reason}`);
        break;
      case "late-completion":
        log.info({ pool: event.target, seq: event.seq, afterMs: event.afterMs }, "a timed-out attempt completed late; the failure stands");
        break;
      case "fence-report":
        log.warn({ action: event.report.action, acted: event.report.acted }, `fence action: ${event.report.outcome}`);
        break;
      case "fence-error":
        log.fatal({ pool: event.target }, `fence action failed: ${event.message}`);
        break;
    }
  }
}
