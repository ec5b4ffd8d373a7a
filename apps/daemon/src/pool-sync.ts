import { daemonSettings, hostIdOf, type HeartbeatConfig } from "@hb/config";
import type { Clock, HeartbeatLoop, HeartbeatTarget, TimerHandle } from "@hb/core";
import type { DiscoveryState } from "@hb/protocol";
import type { Logger } from "pino";
import { every } from "./every.js";
import type { DaemonMetrics } from "./metrics.js";
import { LibvirtUnavailableError, parseDeclaredPools, type PoolSpec } from "./pools.js";

export interface TargetContext {
  readonly config: HeartbeatConfig;
  readonly hostId: string | undefined;
}

export interface PoolSyncDeps {
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: DaemonMetrics;
  /** IPv4 address of a network device, for the heartbeat file name. */
  addressOf(device: string): string | undefined;
  makeTarget(pool: PoolSpec, context: TargetContext): HeartbeatTarget;
  /**
   * libvirt's HA pools; absent where there is no libvirt (demo, tests). `knownSmp`: the
   * SharedMountPoint pools watched already, kept while libvirt lists them.
   */
  discoverPools?(config: HeartbeatConfig, knownSmp: ReadonlySet<string>): Promise<PoolSpec[]>;
}

// Discovery failing this many rounds in a row is a health problem, not a hiccup.
const DISCOVERY_FAILURES_UNHEALTHY = 3;

/** A target that keeps something per pool (the NFS targets' storage worker), ended with the pool. */
type PoolTarget = HeartbeatTarget & { release?(): void };

/** The loop's targets kept equal to the declared pools plus libvirt's, every round. */
export class PoolSync {
  readonly pools = new Map<string, PoolSpec>();
  private readonly targets = new Map<string, PoolTarget>();
  private state: DiscoveryState = { state: "off", since: null, error: null, failures: 0 };
  private libvirt = true;
  private timer: TimerHandle | undefined;
  private stopped = false;

  constructor(
    private readonly deps: PoolSyncDeps,
    private readonly loop: HeartbeatLoop,
    private readonly config: () => HeartbeatConfig,
  ) {}

  get discovery(): DiscoveryState {
    return { ...this.state };
  }

  /** Discovery failing for good, as a health problem; null while it works or is off. */
  problem(): string | null {
    const { state, since, failures, error } = this.state;
    if (state !== "failing" || failures < DISCOVERY_FAILURES_UNHEALTHY) return null;
    return `libvirt pool discovery failing since ${since ?? "?"} (${failures} rounds): ${error ?? "unknown"}`;
  }

  /** Declared pools plus libvirt's; pools that disappear are dropped, as upstream drops them. */
  async sync(): Promise<void> {
    const { deps, loop } = this;
    const config = this.config();
    const settings = daemonSettings(config);
    const declared = parseDeclaredPools(settings.declaredPools);
    for (const problem of declared.problems) deps.log.warn({ entry: problem.entry }, `hb.pools: ${problem.message}; entry skipped`);
    const discovered = await this.discover(config);
    const wanted = new Map<string, PoolSpec>();
    for (const pool of [...declared.pools, ...discovered]) if (!wanted.has(pool.id)) wanted.set(pool.id, pool);
    const hostId = hostIdOf(config, deps.addressOf);
    for (const [id, pool] of this.pools) {
      if (wanted.has(id) && JSON.stringify(wanted.get(id)) === JSON.stringify(pool)) continue;
      await loop.removeTarget(id);
      this.targets.get(id)?.release?.();
      this.targets.delete(id);
      this.pools.delete(id);
      deps.metrics.forget(id);
      deps.log.warn({ pool: id }, "pool dropped (no longer declared or reported by libvirt)");
    }
    const added = [...wanted].filter(([id]) => !this.pools.has(id));
    // New pools' first rounds spread over one frequency: 64 writes, each a child process, must
    // not start in one burst every round.
    const spacingMs = settings.frequencyMs / Math.max(1, added.length);
    for (const [index, [id, pool]] of added.entries()) {
      if (pool.kind !== "linstor" && hostId === undefined) {
        deps.log.error({ pool: id }, "no host id for the heartbeat file (set hb.host.ip or private.network.device): pool not monitored");
        continue;
      }
      this.pools.set(id, pool);
      const target: PoolTarget = deps.makeTarget(pool, { config, hostId });
      this.targets.set(id, target);
      loop.addTarget(target, Math.floor(index * spacingMs));
      deps.log.info({ pool: id, kind: pool.kind, source: pool.source }, "pool added");
    }
  }

  // Until discovery answers, the libvirt pools we know stay: a failure (hb's own EMFILE while
  // virsh starts, a virsh that times out) must never drop a pool's protection.
  private async discover(config: HeartbeatConfig): Promise<PoolSpec[]> {
    const { deps } = this;
    const known = [...this.pools.values()].filter((pool) => pool.kind !== "linstor" && pool.source === "libvirt");
    if (deps.discoverPools === undefined || !this.libvirt) return known;
    const now = new Date(deps.clock.wallMs()).toISOString();
    try {
      const discovered = await deps.discoverPools(config, new Set(known.filter((pool) => pool.kind === "smp").map((pool) => pool.id)));
      if (this.state.state === "failing") deps.log.warn({ failures: this.state.failures }, "libvirt pool discovery works again");
      this.state = { state: "ok", since: now, error: null, failures: 0 };
      return discovered;
    } catch (error) {
      const message = (error as Error).message;
      if (error instanceof LibvirtUnavailableError && known.length === 0) {
        // No virsh on this host: nothing to discover until a reload says otherwise.
        this.libvirt = false;
        this.state = { state: "off", since: now, error: message, failures: 0 };
        deps.log.warn(`${message}: no libvirt pool discovery, only hb.pools are monitored`);
      } else {
        const failures = this.state.failures + 1;
        this.state = { state: "failing", since: this.state.state === "failing" ? this.state.since : now, error: message, failures };
        deps.log.error({ err: message, failures }, `libvirt pool discovery failed; keeping the ${known.length} libvirt pool(s) known, retrying every round`);
      }
      return known;
    }
  }

  /** Discovery again, from a clean slate (SIGHUP, reload): virsh may be there now. */
  async retry(): Promise<void> {
    if (this.deps.discoverPools === undefined) return this.sync();
    this.libvirt = true;
    await this.sync();
    this.startTimer();
  }

  /** libvirt's pools are asked for every round. */
  startTimer(): void {
    if (this.deps.discoverPools === undefined || this.stopped) return;
    this.timer?.cancel();
    this.timer = every(this.deps.clock, daemonSettings(this.config()).frequencyMs, () => void this.sync().catch((error: unknown) => this.deps.log.error({ err: String(error) }, "pool sync failed")));
  }

  stop(): void {
    this.stopped = true;
    this.timer?.cancel();
  }
}
