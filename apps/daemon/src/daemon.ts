import type { Server as NetServer } from "node:net";
import { deriveTiming, type DaemonSettings, type HeartbeatConfig } from "@hb/config";
import { HeartbeatLoop, type Clock, type Executor, type FenceAction } from "@hb/core";
import type { RebootBackstop } from "@hb/fence";
import type { ReloadAnswer, StatusDocument } from "@hb/protocol";
import type { Logger } from "pino";
import { ConfigSource, type DaemonOptions } from "./config-source.js";
import { StatusEndpoint, openControlSocket } from "./endpoints.js";
import { answerControl } from "./control-requests.js";
import { EventLog } from "./event-log.js";
import { FencesInFlight } from "./fences-in-flight.js";
import { acquireStateDirLock, type StateDirLock } from "./lock.js";
import { DaemonMetrics } from "./metrics.js";
import { PoolSync, type PoolSyncDeps } from "./pool-sync.js";
import { healthOf, statusDocument } from "./status-view.js";
import { startupSummary } from "./summary.js";
import { lagThresholdMs, makeWatchdog, Supervisor, type EventLoopLag } from "./supervisor.js";
import type { Watchdog } from "./watchdog.js";

export type { DaemonOptions } from "./config-source.js";
export type { TargetContext } from "./pool-sync.js";

export interface DaemonDeps extends Omit<PoolSyncDeps, "metrics"> {
  readonly executor: Executor & { readonly stuck?: number };
  readonly clock: Clock;
  readonly log: Logger;
  readonly env: { readonly AGENT_PROPS?: string | undefined; readonly WATCHDOG_USEC?: string | undefined };
  readonly pid: number;
  /** Whether `pid` is a live hbd (not merely a live process): a pid file naming anything else is stale. */
  isHbd(pid: number): boolean;
  /** This boot's id, written with the pid; a pid file of an earlier boot is stale. */
  readonly bootId?: string | null;
  /** hbd's uid: the control socket's folder must belong to it (default: this process's). */
  readonly uid?: number;
  makeFence(config: HeartbeatConfig): FenceAction;
  /** The event loop's delay (wiring.ts: Node's own). */
  readonly lag: EventLoopLag;
  /** The watchdog (default: as hb.watchdog says, from the device or systemd). */
  makeWatchdog?(config: HeartbeatConfig): Watchdog;
  /** The previous fence record, for the start-up summary. */
  lastFenceRecord?(stateDir: string, deadlineMs: number): Promise<string | undefined>;
  /** Human-readable lines (the start-up summary). */
  stderr(text: string): void;
  readonly sysClassWatchdog: string;
  readonly version: string;
}

/** hbd: the @hb/core loop for every pool of the host, with status, control, metrics and a watchdog. */
export class Daemon {
  private readonly metrics = new DaemonMetrics();
  private readonly configs: ConfigSource;
  private readonly events: EventLog;
  private readonly endpoint: StatusEndpoint;
  private loop: HeartbeatLoop | undefined;
  private pools: PoolSync | undefined;
  private supervisor: Supervisor | undefined;
  private control: { server: NetServer | undefined; problem: string | null } = { server: undefined, problem: null };
  private lock: StateDirLock | undefined;
  private readonly fences = new FencesInFlight();
  private startedAtWallMs = 0;
  private stopping = false;

  constructor(options: DaemonOptions, private readonly deps: DaemonDeps) {
    this.configs = new ConfigSource(options, deps);
    this.events = new EventLog({ ...deps, metrics: this.metrics }, () => this.supervisor?.armWhenReady(() => this.loop?.status().every((target) => target.armed) === true));
    this.endpoint = new StatusEndpoint({ ...deps, source: { health: () => this.health(), status: () => this.status(), metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }) } });
  }

  get statusAddress(): string | undefined {
    return this.endpoint.address;
  }

  private get config(): HeartbeatConfig {
    return this.configs.config;
  }

  private get settings(): DaemonSettings {
    return this.configs.settings;
  }

  async start(): Promise<void> {
    const { deps } = this;
    const config = await this.configs.first();
    const { stateDir, stepTimeoutMs, fenceAction } = this.settings;
    this.lock = acquireStateDirLock(stateDir, deps.pid, { isHbd: (pid) => deps.isHbd(pid), bootId: deps.bootId ?? null });
    if (!this.lock.held) deps.log.error({ stateDir }, `state folder unusable (${this.lock.problem}): hbd runs without its pid file; fence records may not be written, the fence itself still acts`);
    try {
      const watchdog = deps.makeWatchdog?.(config) ?? makeWatchdog(this.settings, { ...deps, watchdogUsec: deps.env.WATCHDOG_USEC });
      this.supervisor = new Supervisor(watchdog, { ...deps, metrics: this.metrics }, { lagThresholdMs: () => this.lagThresholdMs(), loopHealthy: () => this.loopHealthy() });
      this.startedAtWallMs = deps.clock.wallMs();
      const loop = new HeartbeatLoop({ config, clock: deps.clock, targets: [], fence: this.fences.track(deps.makeFence(config)), onEvent: (event) => this.events.record(event) });
      this.loop = loop;
      this.pools = new PoolSync({ ...deps, metrics: this.metrics }, loop, () => this.config);
      await this.pools.sync();
      loop.start();
      await this.bindStatusEndpoint();
      await this.openControlSocket();
      this.supervisor.start();
      this.pools.startTimer();
      const lastFence = await deps.lastFenceRecord?.(stateDir, stepTimeoutMs);
      deps.stderr(startupSummary({ ...deps, propertiesPath: this.configs.path, config, settings: this.settings, pools: this.pools.pools, watchdog, endpoint: this.endpoint.view, controlProblem: this.control.problem, lockProblem: this.lock.held ? null : this.lock.problem, lastFence }));
      deps.log.info({ pools: [...this.pools.pools.keys()], action: fenceAction, status: this.endpoint.view }, "hbd started");
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** SIGHUP: new configuration and action, same targets' state; a file that cannot be used keeps the running one. */
  async reload(): Promise<ReloadAnswer> {
    const outcome = await this.configs.reload();
    const stale = this.configs.view?.stale ?? null;
    if (!outcome.taken) {
      await this.pools?.retry();
      return { action: this.settings.fenceAction, problems: outcome.problems, stale };
    }
    const { config, settings } = this.configs;
    this.loop?.reconfigure(config, this.fences.track(this.deps.makeFence(config)));
    await this.pools?.retry();
    if (!this.endpoint.view.bound) await this.bindStatusEndpoint();
    if (this.control.server === undefined) await this.openControlSocket();
    this.deps.log.info({ before: outcome.before.fenceAction, action: settings.fenceAction, fences: settings.fences }, "configuration reloaded");
    return { action: settings.fenceAction, problems: outcome.problems, stale: null };
  }

  /** SIGTERM/SIGINT: no fence in flight is abandoned; the watchdog is disarmed cleanly. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.supervisor?.stopTimers();
    this.pools?.stop();
    this.endpoint.stopRetrying();
    await this.fences.settled();
    await this.loop?.stop();
    await this.supervisor?.release();
    await this.endpoint.close();
    await new Promise<void>((resolve) => (this.control.server ? this.control.server.close(() => resolve()) : resolve()));
    const stuck = this.deps.executor.stuck ?? 0;
    this.deps.log.info({ stuckChildren: stuck }, stuck > 0 ? `hbd stopped; ${stuck} child process(es) still stuck in the kernel` : "hbd stopped");
    if (this.lock?.held) this.lock.release();
  }

  /** graceful-reboot's watchdog backstop when hbd itself holds the device. */
  heldWatchdogBackstop(): RebootBackstop | undefined {
    return this.supervisor?.heldBackstop();
  }

  /**
   * The loop itself: running, every target making progress, the event loop not lagging. This
   * alone gates watchdog keepalives: nothing an outsider can do to the status port or to
   * libvirt may turn into a reset.
   */
  healthy(): boolean {
    return this.loopHealthy() && this.supervisor?.lagging() === false;
  }

  /** What /healthz says: the loop's health and everything else hbd needs to protect the host, with reasons. */
  health(): { healthy: boolean; problems: string[] } {
    const running = !this.stopping && this.loop !== undefined;
    return healthOf({ running, lagP99Ms: this.supervisor?.lagP99Ms ?? 0, lagging: this.supervisor?.lagging() ?? false, progressing: this.progressing(), endpoint: this.endpoint.view, controlProblem: this.control.problem, configState: this.configs.view, discoveryProblem: this.pools?.problem() ?? null });
  }

  status(): StatusDocument {
    const { deps, events } = this;
    const configState = this.configs.view ?? { path: this.configs.path, loadedAt: "", stale: null };
    return statusDocument(
      { ...deps, config: this.config, settings: this.settings, configState, endpoint: this.endpoint.view, discovery: this.pools?.discovery ?? { state: "off", since: null, error: null, failures: 0 }, startedAtWallMs: this.startedAtWallMs, maintenanceUntilMs: this.loop?.maintenanceUntil(), watchdog: this.supervisor?.view() ?? { mode: "none", armed: false, timeoutSeconds: null }, lagP99Ms: this.supervisor?.lagP99Ms ?? 0, stuckChildren: deps.executor.stuck ?? 0, decisions: events.decisions, vetoes: this.metrics.vetoSummary(), targets: this.loop?.status() ?? [], pools: this.pools?.pools ?? new Map(), inconclusiveAttempts: (id) => events.inconclusiveAttempts(id) },
      this.health(),
      deps.clock,
    );
  }

  private bindStatusEndpoint(): Promise<void> {
    const { statusListen, allowRemoteStatus, frequencyMs } = this.settings;
    return this.endpoint.bind(statusListen, allowRemoteStatus, frequencyMs);
  }

  private async openControlSocket(): Promise<void> {
    this.control = await openControlSocket(this.settings.stateDir, (request) => answerControl(request, { ...this.deps, loop: this.loop, metrics: this.metrics, status: () => this.status(), reload: () => this.reload() }), { uid: this.deps.uid ?? process.getuid?.() ?? 0, clock: this.deps.clock, log: this.deps.log });
  }

  private lagThresholdMs(): number {
    return lagThresholdMs(this.settings.attemptTimeoutMs);
  }

  private loopHealthy(): boolean {
    return !this.stopping && this.loop !== undefined && this.progressing();
  }

  // The loop is alive when every target made progress within one full round's worst case.
  private progressing(): boolean {
    const budgetMs = deriveTiming(this.config).decisionLatestMs + this.settings.frequencyMs;
    return this.events.progressing(this.pools?.pools.keys() ?? [], budgetMs);
  }
}
