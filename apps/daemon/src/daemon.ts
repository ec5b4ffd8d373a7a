import { monitorEventLoopDelay, type IntervalHistogram } from "node:perf_hooks";
import type { Server } from "node:http";
import type { Server as NetServer } from "node:net";
import { join } from "node:path";
import {
  deriveTiming,
  formatSeconds,
  hostIdOf,
  isFencingAction,
  parseProperties,
  parseStatusListen,
  readPropertiesFile,
  resolveConfig,
  setProperty,
  type ConfigProblem,
  type HeartbeatConfig,
} from "@hb/config";
import { HeartbeatLoop, type Clock, type Executor, type FenceAction, type FenceDecision, type HeartbeatTarget, type LoopEvent } from "@hb/core";
import type { Logger } from "pino";
import { startControlSocket, type ControlRequest } from "./control.js";
import { acquireStateDirLock, type StateDirLock } from "./lock.js";
import { DaemonMetrics, ownFaultCodeOf } from "./metrics.js";
import { LibvirtUnavailableError, parseDeclaredPools, type PoolSpec } from "./pools.js";
import { startStatusServer } from "./status-server.js";
import { deviceWatchdog, noWatchdog, systemdWatchdog, type Watchdog } from "./watchdog.js";
import { hostGracefulRebootGuarantee, type RebootBackstop } from "@hb/fence";

export interface TargetContext {
  readonly config: HeartbeatConfig;
  readonly hostId: string | undefined;
}

export interface DaemonDeps {
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
  /** IPv4 address of a network device, for the heartbeat file name. */
  addressOf(device: string): string | undefined;
  makeTarget(pool: PoolSpec, context: TargetContext): HeartbeatTarget;
  makeFence(config: HeartbeatConfig): FenceAction;
  /** libvirt's HA pools; absent where there is no libvirt (demo, tests). */
  discoverPools?(config: HeartbeatConfig): Promise<PoolSpec[]>;
  /** The previous fence record, for the start-up summary. */
  lastFenceRecord?(stateDir: string, deadlineMs: number): Promise<string | undefined>;
  /** Human-readable lines (the start-up summary). */
  stderr(text: string): void;
  readonly sysClassWatchdog: string;
  readonly version: string;
}

export interface DaemonOptions {
  readonly propertiesPath: string;
  /** Values applied on top of the file, as if written in it (the demo's short timings). */
  readonly overrides?: Readonly<Record<string, string>>;
}

interface LoadedConfig {
  readonly config: HeartbeatConfig;
  readonly problems: readonly ConfigProblem[];
  /** Why the file could not be used (missing, unreadable, unparseable); absent when it was. */
  readonly fileProblem?: string;
  /** Keys the file holds, to tell a replaced file from an edited one. */
  readonly keys: ReadonlySet<string>;
}

/** Where the running configuration came from, and whether a reload could not replace it. */
export interface ConfigState {
  readonly path: string;
  readonly loadedAt: string;
  readonly stale: null | { readonly since: string; readonly reason: string };
}

/** The read-only TCP endpoint: bound or not, and why not. */
export interface StatusEndpointState {
  readonly listen: string;
  readonly bound: boolean;
  readonly error: string | null;
}

/** libvirt pool discovery: off (no virsh, or none wired), ok, or failing since a time. */
export interface DiscoveryState {
  readonly state: "off" | "ok" | "failing";
  readonly since: string | null;
  readonly error: string | null;
  readonly failures: number;
}

// Discovery failing this many rounds in a row is a health problem, not a hiccup.
const DISCOVERY_FAILURES_UNHEALTHY = 3;

/** hbd: the @hb/core loop for every pool of the host, with status, control, metrics and a watchdog. */
export class Daemon {
  private loop: HeartbeatLoop | undefined;
  private config!: HeartbeatConfig;
  private fence!: FenceAction;
  private pools = new Map<string, PoolSpec>();
  private readonly metrics = new DaemonMetrics();
  private readonly lag: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  private lagP99Ms = 0;
  private statusServer: { server: Server; address: string } | undefined;
  private control: NetServer | undefined;
  private watchdog: Watchdog = noWatchdog;
  private watchdogArmed = false;
  /** A fence handed the watchdog over: no more keepalives, and no magic close on stop. */
  private watchdogHandedOver = false;
  private timers: NodeJS.Timeout[] = [];
  private fencesInFlight = new Set<Promise<unknown>>();
  private decisions: FenceDecision[] = [];
  private lastProgressMs = new Map<string, number>();
  private startedAtWall = 0;
  private stopping = false;
  private libvirt = true;
  private discovery: DiscoveryState = { state: "off", since: null, error: null, failures: 0 };
  private discoveryTimer: NodeJS.Timeout | undefined;
  private configState!: ConfigState;
  private configKeys: ReadonlySet<string> = new Set();
  private endpoint: StatusEndpointState = { listen: "", bound: false, error: "not started" };
  private bindTimer: NodeJS.Timeout | undefined;
  private controlProblem: string | null = null;
  private lock: StateDirLock | undefined;
  private readonly inconclusive = new Map<string, number>();

  constructor(
    private readonly options: DaemonOptions,
    private readonly deps: DaemonDeps,
  ) {}

  get statusAddress(): string | undefined {
    return this.statusServer?.address;
  }

  async start(): Promise<void> {
    const { deps } = this;
    const loaded = await this.loadConfig();
    this.config = loaded.config;
    this.configKeys = loaded.keys;
    this.configState = { path: this.options.propertiesPath, loadedAt: new Date(deps.clock.wallMs()).toISOString(), stale: null };
    // The first start is the only time defaults stand in for the file, and it is said once.
    if (loaded.fileProblem !== undefined) deps.log.error({ file: this.options.propertiesPath }, `${loaded.fileProblem}; running on CloudStack's defaults`);
    this.reportProblems(loaded);
    const stateDir = this.config["hb.state.dir"];
    this.lock = acquireStateDirLock(stateDir, deps.pid, { isHbd: (pid) => deps.isHbd(pid), bootId: deps.bootId ?? null });
    if (!this.lock.held) {
      deps.log.error({ stateDir }, `state folder unusable (${this.lock.problem}): hbd runs without its pid file; fence records may not be written, the fence itself still acts`);
    }
    try {
      this.watchdog = this.makeWatchdog();
      this.fence = this.trackedFence(deps.makeFence(this.config));
      this.startedAtWall = deps.clock.wallMs();
      const loop = new HeartbeatLoop({ config: this.config, clock: deps.clock, targets: [], fence: this.fence, onEvent: (event) => this.onEvent(event) });
      this.loop = loop;
      await this.syncPools();
      loop.start();
      await this.bindStatusEndpoint();
      await this.openControlSocket(stateDir);
      this.startTimers();
      deps.stderr(await this.summary());
      deps.log.info({ pools: [...this.pools.keys()], action: this.config["kvm.heartbeat.fence.action"], status: this.endpoint }, "hbd started");
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /**
   * SIGHUP: new configuration and action, same targets' state. A file that cannot be used
   * (missing, unreadable, unparseable, or replaced by something that is not agent.properties)
   * keeps the running configuration: a reload must never change fencing by accident.
   */
  async reload(): Promise<{ action: string; problems: number; stale: ConfigState["stale"] }> {
    const loaded = await this.loadConfig();
    const now = new Date(this.deps.clock.wallMs()).toISOString();
    const replaced = loaded.fileProblem ?? this.replacedFileProblem(loaded.keys);
    if (replaced !== undefined) {
      const since = this.configState.stale?.since ?? now;
      this.configState = { ...this.configState, stale: { since, reason: replaced } };
      this.deps.log.error({ file: this.options.propertiesPath, staleSince: since }, `reload refused: ${replaced}; the running configuration stays (action ${this.config["kvm.heartbeat.fence.action"]}${this.config["hb.fence.dry.run"] ? ", dry run" : ""})`);
      await this.retryDiscovery();
      return { action: this.config["kvm.heartbeat.fence.action"], problems: loaded.problems.length, stale: this.configState.stale };
    }
    this.reportProblems(loaded);
    const before = this.config["kvm.heartbeat.fence.action"];
    this.config = loaded.config;
    this.configKeys = loaded.keys;
    this.configState = { path: this.options.propertiesPath, loadedAt: now, stale: null };
    this.fence = this.trackedFence(this.deps.makeFence(this.config));
    this.loop?.reconfigure(this.config, this.fence);
    await this.retryDiscovery();
    if (!this.endpoint.bound) await this.bindStatusEndpoint();
    if (this.control === undefined) await this.openControlSocket(this.config["hb.state.dir"]);
    const action = this.config["kvm.heartbeat.fence.action"];
    this.deps.log.info({ before, action, fences: isFencingAction(action) && this.config["reboot.host.and.alert.management.on.heartbeat.timeout"] }, "configuration reloaded");
    return { action, problems: loaded.problems.length, stale: null };
  }

  /** SIGTERM/SIGINT: no fence in flight is abandoned; the watchdog is disarmed cleanly. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const timer of this.timers) clearInterval(timer);
    if (this.discoveryTimer !== undefined) clearInterval(this.discoveryTimer);
    if (this.bindTimer !== undefined) clearTimeout(this.bindTimer);
    this.lag.disable();
    await Promise.allSettled([...this.fencesInFlight]);
    await this.loop?.stop();
    if (this.watchdogHandedOver) this.watchdog.abandon();
    else await this.watchdog.disarm().catch((error: unknown) => this.deps.log.error({ err: error }, "watchdog disarm failed"));
    const closed = new Promise<void>((resolve) => (this.statusServer ? this.statusServer.server.close(() => resolve()) : resolve()));
    this.statusServer?.server.closeAllConnections();
    await closed;
    await new Promise<void>((resolve) => (this.control ? this.control.close(() => resolve()) : resolve()));
    const stuck = this.deps.executor.stuck ?? 0;
    this.deps.log.info({ stuckChildren: stuck }, stuck > 0 ? `hbd stopped; ${stuck} child process(es) still stuck in the kernel` : "hbd stopped");
    if (this.lock?.held) this.lock.release();
  }

  /**
   * graceful-reboot's watchdog backstop when hbd itself holds the device (a second open would
   * fail with EBUSY): stop the keepalives and never disarm, so the device resets the host if the
   * shutdown stalls after hbd is gone.
   */
  heldWatchdogBackstop(): RebootBackstop | undefined {
    if (this.watchdog.mode !== "device" || !this.watchdogArmed) return undefined;
    const timeout = this.watchdog.timeoutSeconds;
    return {
      name: "watchdog",
      probe: () => ({ available: true, detail: `hbd's watchdog device, reset ${timeout} s after the last keepalive` }),
      arm: async () => {
        this.watchdogHandedOver = true;
        return { ok: true, detail: `keepalives to hbd's watchdog device stopped: reset within ${timeout} s unless the reboot completes first` };
      },
    };
  }

  /**
   * The loop itself: running, every target making progress, the event loop not lagging. This
   * alone gates watchdog keepalives: nothing an outsider can do to the status port or to
   * libvirt may turn into a reset.
   */
  healthy(): boolean {
    if (this.stopping || this.loop === undefined) return false;
    return this.lagP99Ms < this.lagThresholdMs() && this.loopProgressing();
  }

  /** What /healthz says: the loop's health and everything else hbd needs to protect the host, with reasons. */
  health(): { healthy: boolean; problems: string[] } {
    const problems: string[] = [];
    if (this.stopping || this.loop === undefined) problems.push("hbd is not running its loop");
    else {
      if (this.lagP99Ms >= this.lagThresholdMs()) problems.push(`event-loop lag p99 ${Math.round(this.lagP99Ms)} ms`);
      if (!this.loopProgressing()) problems.push("a pool made no progress within one round's worst case");
    }
    if (!this.endpoint.bound) problems.push(`status endpoint ${this.endpoint.listen} not bound: ${this.endpoint.error ?? "unknown"}`);
    if (this.controlProblem !== null) problems.push(`no control socket: ${this.controlProblem}`);
    if (this.configState?.stale) problems.push(`configuration stale since ${this.configState.stale.since}: ${this.configState.stale.reason}`);
    if (this.discovery.state === "failing" && this.discovery.failures >= DISCOVERY_FAILURES_UNHEALTHY) {
      problems.push(`libvirt pool discovery failing since ${this.discovery.since ?? "?"} (${this.discovery.failures} rounds): ${this.discovery.error ?? "unknown"}`);
    }
    return { healthy: problems.length === 0, problems };
  }

  status() {
    const loop = this.loop;
    const clock = this.deps.clock;
    const toWall = (mono: number) => new Date(clock.wallMs() + (mono - clock.monoMs())).toISOString();
    const timing = deriveTiming(this.config);
    const maintenance = loop?.maintenanceUntil();
    const health = this.health();
    return {
      version: this.deps.version,
      healthy: health.healthy,
      healthProblems: health.problems,
      statusEndpoint: { ...this.endpoint },
      config: this.configState,
      discovery: { ...this.discovery },
      startedAt: new Date(this.startedAtWall).toISOString(),
      action: this.config["kvm.heartbeat.fence.action"],
      fences: timing.fences,
      dryRun: this.config["hb.fence.dry.run"],
      maintenance: maintenance === undefined ? null : { until: toWall(maintenance) },
      watchdog: { mode: this.watchdog.mode, armed: this.watchdogArmed, timeoutSeconds: this.watchdog.timeoutSeconds },
      eventLoopLagP99Ms: Math.round(this.lagP99Ms * 10) / 10,
      stuckChildren: this.deps.executor.stuck ?? 0,
      decisions: this.decisions.map((d) => ({ at: d.wallTime, target: d.target, action: d.action, isFence: d.isFence, mode: d.mode, reason: d.reason })),
      vetoes: this.metrics.vetoSummary(),
      targets: (loop?.status() ?? []).map((target) => {
        const pool = this.pools.get(target.id);
        const ok = target.attempts.filter((a) => a.result === "ok").map((a) => a.latencyMs).sort((a, b) => a - b);
        // hb's own faults are not failed tries (DESIGN rule 11).
        const failuresInARow = target.attempts.slice(target.attempts.findLastIndex((a) => a.result === "ok") + 1).filter((a) => a.result !== "inconclusive").length;
        return {
          id: target.id,
          kind: pool?.kind ?? "unknown",
          ...(pool?.kind === "nfs" ? { mountPoint: pool.mountPoint } : {}),
          state: target.state,
          armed: target.armed,
          lastGoodAt: target.lastSuccessAtMs === undefined ? null : toWall(target.lastSuccessAtMs),
          lastGoodAgeMs: target.lastSuccessAtMs === undefined ? null : Math.round(clock.monoMs() - target.lastSuccessAtMs),
          consecutiveFailures: failuresInARow,
          inconclusiveAttempts: this.inconclusive.get(target.id) ?? 0,
          latencyMs: { count: ok.length, p50: percentile(ok, 0.5), p99: percentile(ok, 0.99), max: ok.at(-1) ?? null },
          decisionAtTheLatest: target.lastSuccessAtMs === undefined ? null : toWall(target.lastSuccessAtMs + timing.decisionLatestMs),
          lastChange: target.history.at(-1) ?? null,
        };
      }),
    };
  }

  private async handleControl(request: ControlRequest): Promise<unknown> {
    const loop = this.loop;
    if (loop === undefined) throw new Error("not running");
    switch (request.op) {
      case "maintenance-on":
        loop.suspendFencing(request.ttlMs, request.reason);
        this.metrics.maintenance.set(1);
        this.deps.log.warn({ ttlMs: request.ttlMs, reason: request.reason }, "maintenance: fencing suspended");
        return { maintenanceUntil: this.status().maintenance };
      case "maintenance-off":
        loop.resumeFencing();
        this.metrics.maintenance.set(0);
        this.deps.log.warn("maintenance ended: fencing active");
        return { maintenanceUntil: null };
      case "reload":
        return this.reload();
      case "status":
        return this.status();
      case "fence-veto":
        this.deps.log.warn({ outcome: request.outcome, check: request.check, source: request.source, target: request.target }, `${request.source} -c did not fence (${request.outcome}): ${request.detail}`);
        return this.metrics.recordVeto(request, this.deps.clock.wallMs());
    }
  }

  private async loadConfig(): Promise<LoadedConfig> {
    let text = "";
    let fileProblem: string | undefined;
    let keys: ReadonlySet<string> = new Set();
    try {
      const document = await readPropertiesFile(this.options.propertiesPath);
      keys = new Set(document.entries.keys());
      text = document.text;
      // A binary file read as ISO-8859-1 still "parses"; the agent's file never holds NUL.
      if (text.includes("\0")) fileProblem = `${this.options.propertiesPath} holds binary data, not properties`;
    } catch (error) {
      fileProblem = (error as Error).message;
    }
    if (fileProblem !== undefined) text = "";
    for (const [key, value] of Object.entries(this.options.overrides ?? {})) text = setProperty(text, key, value).text;
    const { values, problems } = resolveConfig(parseProperties(text));
    return { config: values, problems, keys, ...(fileProblem === undefined ? {} : { fileProblem }) };
  }

  /** A readable file that shares no key with the running one was replaced, not edited. */
  private replacedFileProblem(keys: ReadonlySet<string>): string | undefined {
    if (this.configKeys.size === 0 || [...keys].some((key) => this.configKeys.has(key))) return undefined;
    return `${this.options.propertiesPath} shares no setting with the file hbd runs on (${keys.size} key(s), none known): not taken as agent.properties`;
  }

  private reportProblems(loaded: LoadedConfig): void {
    for (const problem of loaded.problems) {
      this.deps.log.warn({ file: this.options.propertiesPath, line: problem.line, key: problem.key, value: problem.value, used: problem.used }, `configuration: ${problem.message}`);
    }
  }


  /** Declared pools plus libvirt's; pools that disappear are dropped, as upstream drops them. */
  private async syncPools(): Promise<void> {
    const loop = this.loop;
    if (loop === undefined) return;
    const declared = parseDeclaredPools(this.config["hb.pools"]);
    for (const problem of declared.problems) this.deps.log.warn({ entry: problem.entry }, `hb.pools: ${problem.message}; entry skipped`);
    // Until discovery answers, the libvirt pools we know stay: a failure (hb's own EMFILE while
    // virsh starts, a virsh that times out) must never drop a pool's protection.
    let discovered: PoolSpec[] = [...this.pools.values()].filter((pool) => pool.kind === "nfs" && pool.source === "libvirt");
    if (this.deps.discoverPools !== undefined && this.libvirt) {
      const now = new Date(this.deps.clock.wallMs()).toISOString();
      try {
        discovered = await this.deps.discoverPools(this.config);
        if (this.discovery.state === "failing") this.deps.log.warn({ failures: this.discovery.failures }, "libvirt pool discovery works again");
        this.discovery = { state: "ok", since: now, error: null, failures: 0 };
      } catch (error) {
        const message = (error as Error).message;
        if (error instanceof LibvirtUnavailableError && discovered.length === 0) {
          // No virsh on this host: nothing to discover until a reload says otherwise.
          this.libvirt = false;
          this.discovery = { state: "off", since: now, error: message, failures: 0 };
          this.deps.log.warn(`${message}: no libvirt pool discovery, only hb.pools are monitored`);
        } else {
          const failures = this.discovery.failures + 1;
          this.discovery = { state: "failing", since: this.discovery.state === "failing" ? this.discovery.since : now, error: message, failures };
          this.deps.log.error({ err: message, failures }, `libvirt pool discovery failed; keeping the ${discovered.length} libvirt pool(s) known, retrying every round`);
        }
      }
    }
    const wanted = new Map<string, PoolSpec>();
    for (const pool of [...declared.pools, ...discovered]) if (!wanted.has(pool.id)) wanted.set(pool.id, pool);
    const hostId = hostIdOf(this.config, this.deps.addressOf);
    for (const [id, pool] of this.pools) {
      if (wanted.has(id) && JSON.stringify(wanted.get(id)) === JSON.stringify(pool)) continue;
      await loop.removeTarget(id);
      this.pools.delete(id);
      this.metrics.forget(id);
      this.deps.log.warn({ pool: id }, "pool dropped (no longer declared or reported by libvirt)");
    }
    const added = [...wanted].filter(([id]) => !this.pools.has(id));
    // New pools' first rounds spread over one frequency: 64 writes, each a child process, must
    // not start in one burst every round.
    const spacingMs = this.config["kvm.heartbeat.update.frequency"] / Math.max(1, added.length);
    for (const [index, [id, pool]] of added.entries()) {
      if (pool.kind === "nfs" && hostId === undefined) {
        this.deps.log.error({ pool: id }, "no host id for the heartbeat file (set hb.host.ip or private.network.device): pool not monitored");
        continue;
      }
      this.pools.set(id, pool);
      loop.addTarget(this.deps.makeTarget(pool, { config: this.config, hostId }), Math.floor(index * spacingMs));
      this.deps.log.info({ pool: id, kind: pool.kind, source: pool.source }, "pool added");
    }
  }

  /** Discovery again, from a clean slate (SIGHUP, reload): virsh may be there now. */
  private async retryDiscovery(): Promise<void> {
    if (this.deps.discoverPools === undefined) return this.syncPools();
    this.libvirt = true;
    await this.syncPools();
    this.startDiscoveryTimer();
  }

  private startDiscoveryTimer(): void {
    if (this.deps.discoverPools === undefined || this.loop === undefined || this.stopping) return;
    if (this.discoveryTimer !== undefined) clearInterval(this.discoveryTimer);
    this.discoveryTimer = setInterval(() => void this.syncPools().catch((error: unknown) => this.deps.log.error({ err: String(error) }, "pool sync failed")), this.config["kvm.heartbeat.update.frequency"]);
    this.discoveryTimer.unref();
  }

  /**
   * The read-only status endpoint. A port held by another process, or a value hbd cannot use,
   * never stops hbd: the loop runs, the problem is logged loudly and shown in the health and in
   * the control socket's status; binding is retried every round.
   */
  private async bindStatusEndpoint(): Promise<void> {
    if (this.bindTimer !== undefined) clearTimeout(this.bindTimer);
    this.bindTimer = undefined;
    const listen = this.config["hb.status.listen"];
    let address: { host: string; port: number };
    try {
      address = parseStatusListen(listen, this.config["hb.status.allow.remote"]);
    } catch (error) {
      this.endpoint = { listen, bound: false, error: (error as Error).message };
      this.deps.log.error({ listen }, `NO STATUS ENDPOINT: ${this.endpoint.error}; hbd runs and protects the host, see hb status`);
      return;
    }
    try {
      this.statusServer = await startStatusServer(address, {
        health: () => this.health(),
        status: () => this.status(),
        metrics: async () => ({ contentType: this.metrics.registry.contentType, body: await this.metrics.registry.metrics() }),
      });
      if (!this.endpoint.bound && this.endpoint.error !== "not started") this.deps.log.warn({ listen }, "status endpoint bound");
      this.endpoint = { listen: this.statusServer.address, bound: true, error: null };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const message = code === "EADDRINUSE" ? `${listen} is held by another process (EADDRINUSE)` : `cannot listen on ${listen}: ${code ?? (error as Error).message}`;
      const first = this.endpoint.error !== message;
      this.endpoint = { listen, bound: false, error: message };
      if (first) this.deps.log.error({ listen }, `NO STATUS ENDPOINT: ${message}; hbd runs and protects the host, see hb status; retrying every round`);
      if (this.stopping) return;
      this.bindTimer = setTimeout(() => void this.bindStatusEndpoint(), this.config["kvm.heartbeat.update.frequency"]);
      this.bindTimer.unref();
    }
  }

  private async openControlSocket(stateDir: string): Promise<void> {
    const path = join(stateDir, "hbd.sock");
    try {
      this.control = await startControlSocket(path, (request) => this.handleControl(request), this.deps.uid ?? process.getuid?.() ?? 0, (note) => this.deps.log.warn(note));
      this.controlProblem = null;
    } catch (error) {
      this.controlProblem = `${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
      this.deps.log.error(`NO CONTROL SOCKET (${this.controlProblem}): maintenance, reload over the socket and -c deferrals are unavailable; a -c fences as upstream's does`);
    }
  }

  private trackedFence(fence: FenceAction): FenceAction {
    return {
      name: fence.name,
      execute: (decision) => {
        const running = fence.execute(decision);
        this.fencesInFlight.add(running);
        void running.finally(() => this.fencesInFlight.delete(running)).catch(() => undefined);
        return running;
      },
    };
  }

  private onEvent(event: LoopEvent): void {
    const { log } = this.deps;
    this.metrics.observe(event);
    switch (event.type) {
      case "attempt":
        this.lastProgressMs.set(event.target, this.deps.clock.monoMs());
        log.debug({ pool: event.target, ...event.record }, "attempt");
        if (event.record.result === "inconclusive") {
          this.inconclusive.set(event.target, (this.inconclusive.get(event.target) ?? 0) + 1);
          log.warn({ pool: event.target, seq: event.record.seq, code: ownFaultCodeOf(event.record.message) }, `inconclusive attempt (hb's own fault, not the storage's; not a failed try): ${event.record.message}`);
        }
        if (!this.watchdogArmed && this.loop?.status().every((target) => target.armed)) this.armWatchdog();
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

  private makeWatchdog(): Watchdog {
    switch (this.config["hb.watchdog"]) {
      case "device":
        return deviceWatchdog({ device: this.config["hb.watchdog.device"], sysClassDir: this.deps.sysClassWatchdog });
      case "systemd":
        return systemdWatchdog(this.deps.env.WATCHDOG_USEC, this.deps.executor);
      default:
        return noWatchdog;
    }
  }

  // Arm only after every target succeeded once: before that a failure should stop start-up
  // from being trusted, not reset the host (SBD's decoupling).
  private armWatchdog(): void {
    try {
      this.watchdog.arm();
      this.watchdogArmed = this.watchdog.mode !== "none";
      if (this.watchdogArmed) this.deps.log.info(this.watchdog.describe());
    } catch (error) {
      this.deps.log.fatal({ err: (error as Error).message }, "watchdog could not be armed: hbd runs UNPROTECTED");
    }
  }

  private startTimers(): void {
    this.lag.enable();
    const lagWindowMs = 5_000;
    this.timers.push(
      setInterval(() => {
        this.lagP99Ms = this.lag.percentile(99) / 1e6;
        this.lag.reset();
        this.metrics.lag.set(this.lagP99Ms / 1000);
        this.metrics.stuck.set(this.deps.executor.stuck ?? 0);
        if (this.lagP99Ms >= this.lagThresholdMs()) this.deps.log.warn({ lagP99Ms: this.lagP99Ms }, "event-loop lag is a health problem: keepalives withheld");
      }, lagWindowMs),
    );
    const interval = this.watchdog.keepaliveIntervalMs;
    if (interval !== null) {
      let lastTickMs = this.deps.clock.monoMs();
      this.timers.push(
        setInterval(() => {
          // A tick that comes late proves the event loop was stuck just now: no keepalive for it.
          const now = this.deps.clock.monoMs();
          const lateMs = now - lastTickMs - interval;
          lastTickMs = now;
          if (!this.watchdogArmed || this.watchdogHandedOver) return;
          if (lateMs > this.lagThresholdMs()) {
            this.deps.log.error({ lateMs: Math.round(lateMs) }, "event loop was stalled: no watchdog keepalive");
            return;
          }
          if (!this.healthy()) {
            this.deps.log.error("loop unhealthy: no watchdog keepalive");
            return;
          }
          this.watchdog.keepalive().catch((error: unknown) => this.deps.log.error({ err: (error as Error).message }, "watchdog keepalive failed"));
        }, interval),
      );
    }
    for (const timer of this.timers) timer.unref();
    this.startDiscoveryTimer();
  }

  private lagThresholdMs(): number {
    return Math.min(1_000, this.config["heartbeat.update.timeout"] / 10);
  }

  // The loop is alive when every target made progress within one full round's worst case.
  private loopProgressing(): boolean {
    const now = this.deps.clock.monoMs();
    const budget = deriveTiming(this.config).decisionLatestMs + this.config["kvm.heartbeat.update.frequency"];
    return [...this.pools.keys()].every((id) => now - (this.lastProgressMs.get(id) ?? now) <= budget);
  }

  /** Whether graceful-reboot still ends in a reset when the shutdown stalls after hbd is gone. */
  private gracefulGuarantee(): string {
    if (this.watchdog.mode === "device") return `graceful-reboot: hbd's watchdog device is its backstop (reset ${this.watchdog.timeoutSeconds} s after the last keepalive)`;
    const guarantee = hostGracefulRebootGuarantee({ watchdogDevice: this.config["hb.watchdog.device"] });
    return `${guarantee.guaranteed ? "" : "WARNING "}${guarantee.summary}`;
  }

  private async summary(): Promise<string> {
    const timing = deriveTiming(this.config);
    const action = this.config["kvm.heartbeat.fence.action"];
    const lines = [
      `hbd ${this.deps.version}: ${this.pools.size} pool(s) from ${this.options.propertiesPath}`,
      ...[...this.pools.values()].map((pool) => `  ${pool.id}  ${pool.kind}${pool.kind === "nfs" ? `  ${pool.mountPoint}` : ""}  (${pool.source})`),
      `fence action: ${action}${this.config["hb.fence.dry.run"] ? " (DRY RUN: decisions are recorded, nothing is done)" : ""}`,
      timing.fences
        ? "  a real fence: the host resets, so its VMs cannot run twice"
        : `  NOT a fence: VMs keep running while CloudStack may declare this host dead and start them elsewhere (two writers on one disk)`,
      `timing: decision at most ${formatSeconds(timing.decisionLatestMs)} after the last good heartbeat; neighbours may call this host dead after ${formatSeconds(timing.neighbourDeadAfterMs)}`,
      ...timing.invariants.filter((invariant) => !invariant.holds).map((invariant) => `  WARNING ${invariant.id}: ${invariant.message}`),
      ...(action === "graceful-reboot" ? [this.gracefulGuarantee()] : []),
      `watchdog: ${this.watchdog.describe()}`,
      this.endpoint.bound ? `status: http://${this.endpoint.listen}/status` : `WARNING no status endpoint: ${this.endpoint.error ?? "?"} (hbd runs; hb status reads the control socket)`,
      this.controlProblem === null ? `control: ${join(this.config["hb.state.dir"], "hbd.sock")}` : `WARNING no control socket: ${this.controlProblem}`,
      ...(this.lock?.held === false ? [`WARNING state folder: ${this.lock.problem}; fence records may not be written, the fence still acts`] : []),
    ];
    const last = await this.deps.lastFenceRecord?.(this.config["hb.state.dir"], this.config["hb.fence.step.timeout"]);
    if (last !== undefined) lines.push(`previous boot: ${last}`);
    return `${lines.join("\n")}\n`;
  }
}

function percentile(sorted: readonly number[], fraction: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)] ?? null;
}
