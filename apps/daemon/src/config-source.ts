import { daemonSettings, loadConfig, type DaemonSettings, type HeartbeatConfig, type LoadedConfig } from "@hb/config";
import type { Clock } from "@hb/core";
import type { ConfigState } from "@hb/protocol";
import type { Logger } from "pino";

export interface DaemonOptions {
  readonly propertiesPath: string;
  /** Values applied on top of the file, as if written in it (the demo's short timings). */
  readonly overrides?: Readonly<Record<string, string>>;
}

/** A reload's outcome: the new configuration taken, or refused with the running one kept. */
export type ReloadOutcome = { readonly taken: true; readonly problems: number; readonly before: DaemonSettings } | { readonly taken: false; readonly problems: number; readonly reason: string };

/** The configuration hbd runs on: agent.properties, read at start and on each reload. */
export class ConfigSource {
  private current!: HeartbeatConfig;
  private currentSettings!: DaemonSettings;
  private state!: ConfigState;
  /** Keys the file holds, to tell a replaced file from an edited one. */
  private keys: ReadonlySet<string> = new Set();

  constructor(
    private readonly options: DaemonOptions,
    private readonly deps: { readonly clock: Clock; readonly log: Logger },
  ) {}

  get config(): HeartbeatConfig {
    return this.current;
  }

  /** The settings hbd itself runs on, from the same configuration. */
  get settings(): DaemonSettings {
    return this.currentSettings;
  }

  /** Where the running configuration came from, and whether a reload could not replace it; undefined before start. */
  get view(): ConfigState | undefined {
    return this.state;
  }

  get path(): string {
    return this.options.propertiesPath;
  }

  /** The first start is the only time defaults stand in for the file, and it is said once. */
  async first(): Promise<HeartbeatConfig> {
    const loaded = await this.read();
    if (loaded.fileProblem !== null) this.deps.log.error({ file: this.path }, `${loaded.fileProblem.message}; running on CloudStack's defaults`);
    this.take(loaded);
    return this.current;
  }

  /**
   * A file that cannot be used (missing, unreadable, unparseable, or replaced by something that
   * is not agent.properties) keeps the running configuration: a reload must never change
   * fencing by accident.
   */
  async reload(): Promise<ReloadOutcome> {
    const loaded = await this.read();
    const reason = loaded.fileProblem?.message ?? this.replacedFileProblem(loaded);
    if (reason !== undefined) {
      const since = this.state.stale?.since ?? this.now();
      this.state = { ...this.state, stale: { since, reason } };
      const { fenceAction, dryRun } = this.currentSettings;
      this.deps.log.error({ file: this.path, staleSince: since }, `reload refused: ${reason}; the running configuration stays (action ${fenceAction}${dryRun ? ", dry run" : ""})`);
      return { taken: false, problems: loaded.problems.length, reason };
    }
    const before = this.currentSettings;
    this.take(loaded);
    return { taken: true, problems: loaded.problems.length, before };
  }

  private read(): Promise<LoadedConfig> {
    return loadConfig(this.path, this.options.overrides === undefined ? {} : { overrides: this.options.overrides });
  }

  private take(loaded: LoadedConfig): void {
    for (const problem of loaded.problems) {
      this.deps.log.warn({ file: this.path, line: problem.line, key: problem.key, value: problem.value, used: problem.used }, `configuration: ${problem.message}`);
    }
    this.current = loaded.values;
    this.currentSettings = daemonSettings(loaded.values);
    this.keys = keysOf(loaded);
    this.state = { path: this.path, loadedAt: this.now(), stale: null };
  }

  /** A readable file that shares no key with the running one was replaced, not edited. */
  private replacedFileProblem(loaded: LoadedConfig): string | undefined {
    const keys = keysOf(loaded);
    if (this.keys.size === 0 || [...keys].some((key) => this.keys.has(key))) return undefined;
    return `${this.path} shares no setting with the file hbd runs on (${keys.size} key(s), none known): not taken as agent.properties`;
  }

  private now(): string {
    return new Date(this.deps.clock.wallMs()).toISOString();
  }
}

function keysOf(loaded: LoadedConfig): ReadonlySet<string> {
  return new Set(loaded.document?.entries.keys() ?? []);
}
