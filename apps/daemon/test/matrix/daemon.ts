// hbd in this process: the Daemon class with hbd's own wiring (src/wiring.ts, as src/main.ts
// builds it), the real ProcessExecutor and SystemClock, reading a real agent.properties. Its
// pino log is captured, each line stamped on arrival with the same monotonic clock the loop uses.
import { performance } from "node:perf_hooks";
import pino from "pino";
import { readFileSync } from "node:fs";
import { parseProperties, resolveConfig } from "@hb/config";
import { SystemClock, type AttemptRecord, type ProcessExecutor, type TargetState } from "@hb/core";
import { Daemon } from "../../src/daemon.js";
import { eventLoopLag, hbdExecutor, hbdFactories } from "../../src/wiring.js";

export interface LogEntry {
  /** performance.now() when hbd logged it: the clock of every attempt record. */
  readonly at: number;
  readonly msg?: string;
  readonly pool?: string;
  readonly [field: string]: unknown;
}

export type AttemptEntry = LogEntry & AttemptRecord & { readonly pool: string };

export interface StartOptions {
  readonly propertiesFile: string;
  /** Where the watchdog device's timeout is read (a test folder standing in for /sys/class/watchdog). */
  readonly sysClassWatchdog?: string;
}

interface Waiter {
  readonly predicate: (entry: LogEntry) => boolean;
  readonly resolve: (entry: LogEntry) => void;
}

export class DaemonUnderTest {
  readonly entries: LogEntry[] = [];
  readonly executor: ProcessExecutor;
  /** The state each pool is in now, per the log. */
  readonly current = new Map<string, TargetState>();
  private readonly waiters = new Set<Waiter>();
  private stderrText = "";
  private stopped = false;
  private readonly daemon: Daemon;

  private constructor(options: StartOptions) {
    const clock = new SystemClock();
    // As src/main.ts builds it: the stuck-child cap from the file as hbd starts with it.
    const executor = hbdExecutor(resolveConfig(parseProperties(readFileSync(options.propertiesFile, "latin1"))).values);
    this.executor = executor;
    const log = pino({ level: "debug", base: { svc: "hbd" } }, { write: (line: string) => this.push(line) });
    const daemon: Daemon = new Daemon(
      { propertiesPath: options.propertiesFile },
      {
        executor,
        clock,
        log,
        env: {},
        pid: process.pid,
        isHbd: () => true,
        addressOf: () => undefined,
        lag: eventLoopLag(),
        ...hbdFactories({ executor, clock, version: "fault-matrix", heldWatchdog: () => daemon.heldWatchdogBackstop() }),
        stderr: (text) => void (this.stderrText += text),
        sysClassWatchdog: options.sysClassWatchdog ?? "/nonexistent",
        version: "fault-matrix",
      },
    );
    this.daemon = daemon;
  }

  static async start(options: StartOptions): Promise<DaemonUnderTest> {
    const under = new DaemonUnderTest(options);
    await under.daemon.start();
    return under;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** hbd's status document, as /status and the control socket give it. */
  status(): ReturnType<Daemon["status"]> {
    return this.daemon.status();
  }

  get statusAddress(): string | undefined {
    return this.daemon.statusAddress;
  }

  /** What SIGHUP does. */
  reload(): ReturnType<Daemon["reload"]> {
    return this.daemon.reload();
  }

  attempts(pool?: string): AttemptEntry[] {
    return this.entries.filter((entry): entry is AttemptEntry => entry.msg === "attempt" && (pool === undefined || entry.pool === pool));
  }

  decisions(): LogEntry[] {
    return this.entries.filter((entry) => typeof entry.msg === "string" && entry.msg.startsWith("fence decision"));
  }

  /** State changes logged after `fromIndex` (an index into entries). */
  statesAfter(fromIndex: number, pool: string): TargetState[] {
    return this.entries.slice(fromIndex).filter((entry) => entry.pool === pool && typeof entry.to === "string").map((entry) => entry.to as TargetState);
  }

  /** Resolves with the first entry from now on that matches; rejects after timeoutMs. */
  next(what: string, predicate: (entry: LogEntry) => boolean, timeoutMs: number): Promise<LogEntry> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`hbd: no ${what} within ${timeoutMs} ms; last log lines: ${JSON.stringify(this.entries.slice(-4).map(({ msg, pool, to }) => ({ msg, pool, to })))}`));
      }, timeoutMs);
      const waiter: Waiter = {
        predicate,
        resolve: (entry) => {
          clearTimeout(timer);
          resolve(entry);
        },
      };
      this.waiters.add(waiter);
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.daemon.stop();
  }

  private push(line: string): void {
    const entry = { at: performance.now(), ...(JSON.parse(line) as Record<string, unknown>) } as LogEntry;
    this.entries.push(entry);
    if (typeof entry.pool === "string" && typeof entry.to === "string") this.current.set(entry.pool, entry.to as TargetState);
    for (const waiter of [...this.waiters]) {
      if (!waiter.predicate(entry)) continue;
      this.waiters.delete(waiter);
      waiter.resolve(entry);
    }
  }
}
