// The fault matrix: one row per injected fault, with the outcome hb promises for it. Run by
// fault-matrix.test.ts against hbd (its Daemon class and its own wiring, in-process) with real
// child processes, real FUSE mounts that hang, slow down or fail in the kernel, the fake
// drbdsetup replaying real output formats, and fake systemctl/logger on PATH. The test renders
// this table with the measured times to docs/fault-matrix.md.
//
// Times are measured from the last good heartbeat (the end of the last successful attempt) and
// predicted by the timing model (deriveTiming of the settings below), never restated here.
import type { TargetState } from "@hb/core";
import type { Fault } from "@hb/testkit";

/**
 * agent.properties lines of every row. heartbeat.update.timeout is 2 s rather than 1 s: every
 * NFS attempt starts a Node child, and a healthy write (measured 130–350 ms on 2 cores at a load
 * average of 12) must stay clearly under the slow threshold, half the timeout. The retry sleep
 * of 1 s leaves half a second either side of a spike that ends in a pause.
 */
export const MATRIX_PROPERTIES: Readonly<Record<string, string>> = {
  "heartbeat.update.timeout": "2000",
  "kvm.heartbeat.update.frequency": "1000",
  "kvm.heartbeat.update.max.tries": "3",
  "kvm.heartbeat.update.retry.sleep": "1000",
  "hb.fence.step.timeout": "300",
  "hb.fence.flush.wait": "200",
  "hb.fence.graceful.deadline": "1500",
};

const TIMEOUT_MS = Number(MATRIX_PROPERTIES["heartbeat.update.timeout"]);
/** About what one local user can open: the status endpoint must hold hbd's descriptors to a few whatever the number. */
export const IDLE_CONNECTIONS = 20_000;

/** Every operation of a heartbeat write (faultfs faults only the operations listed). */
export const WRITE_OPS = ["mkdir", "create", "open", "write", "flush", "fsync", "rename", "fsyncdir", "unlink", "truncate"] as const;

/**
 * When a storage fault ends, from the last good heartbeat. Points of the round that follows it:
 * the middle of the retry pause after try N, or a distance before/after the latest decision.
 */
export type FaultEnd =
  | { readonly midPauseAfterTry: number }
  | { readonly beforeLatestDecisionMs: number }
  | { readonly afterLatestDecisionMs: number };

export type InjectedFault =
  /** The pool's FUSE mount gets this fault right after a good heartbeat; it stays unless `ends`. */
  | { readonly kind: "storage"; readonly fault: Fault; readonly ends?: FaultEnd }
  /** The next attempt runs into a hang of its fsync, after it rewrote its file in place; then every operation hangs. */
  | { readonly kind: "storage-hang-mid-attempt" }
  /** The pool's line is removed from the mount table hbd reads (hb.mounts.file). */
  | { readonly kind: "mount-vanishes" }
  /** The fake drbdsetup answers `events2` with a fixture from packages/storage-drbd/test/fixtures. */
  | { readonly kind: "drbd-fixture"; readonly fixture: string }
  /** The fake drbdsetup hangs (as under suspend-io) or fails with an exit code and message. */
  | { readonly kind: "drbdsetup"; readonly hang?: true; readonly exit?: number; readonly stderr?: string }
  /** hb.state.dir becomes read-only (a read-only tmpfs over it) or hangs (a hung FUSE mount over it); then the mount vanishes. */
  | { readonly kind: "state-dir"; readonly stateDir: "read-only" | "hang" }
  /** hbd's own event loop is stalled (busy) for stallMs; the watchdog device's timeout is watchdogTimeoutS. */
  | { readonly kind: "event-loop-stall"; readonly stallMs: number; readonly watchdogTimeoutS: number }
  /** Processes of uid 65534 open `count` idle connections to hbd's status endpoint and reconnect whatever is closed. */
  | { readonly kind: "idle-connections"; readonly count: number }
  /** A process of uid 65534 holds hbd's status port before hbd starts; then the pool's mount disappears. */
  | { readonly kind: "status-port-held" }
  /** agent.properties is removed or replaced by garbage and hbd reloads (SIGHUP); then the pool's mount disappears. */
  | { readonly kind: "reload-broken-file"; readonly file: "removed" | "garbage" }
  /** Nothing is injected: the row's own settings hold a value no timer can hold (see `expectedProblems`). */
  | { readonly kind: "settings-only" }
  /** The pool is a tmpfs (root): once hb-<host> exists, every block and every inode of it is used. */
  | { readonly kind: "full-pool" };

/**
 * The decision, from the last good heartbeat, as the timing model predicts it:
 * - latest: every try runs into its deadline (TimingModel.decisionLatestMs);
 * - earliest: every try fails at once (TimingModel.decisionEarliestMs), plus the time the
 *   failing tries themselves took (a child has to start before it can fail);
 * - none: no decision while the row is watched (a full round past the latest decision);
 * - watchdog: hbd sends no keepalive, so the device resets the host its timeout after the last one.
 */
export type ExpectedDecision = "latest" | "earliest" | "none" | "watchdog";

export interface MatrixRow {
  readonly id: string;
  /** What the row shows. */
  readonly case: string;
  readonly pool: "nfs" | "linstor";
  readonly inject: InjectedFault;
  /** The fault in words, for the rendered table. */
  readonly fault: string;
  /** kvm.heartbeat.fence.action (default reboot). */
  readonly action?: "reboot" | "graceful-reboot";
  /** agent.properties lines of this row on top of MATRIX_PROPERTIES. */
  readonly properties?: Readonly<Record<string, string>>;
  /** The pool's states from the fault on (the first is its state when the fault starts), up to the decision or the end of the watch. */
  readonly states: readonly TargetState[];
  readonly decision: ExpectedDecision;
  /** Allowed distance between the measured and the predicted time (and past the reset deadline). */
  readonly toleranceMs: number;
  /** What else the row checks, in words. */
  readonly also?: string;
  /** Keys of the row's settings that hbd must report as problems (and replace by their defaults). */
  readonly expectedProblems?: readonly string[];
  /** How long a row that expects no decision is watched after the last good heartbeat (default: a round past the latest decision). */
  readonly watchMs?: number;
}

const HANG: Fault = { hang: true, ops: WRITE_OPS };
const FAIL_FAST = ["healthy", "failing", "dead"] as const;

type NfsRow = Omit<MatrixRow, "pool" | "states" | "decision" | "toleranceMs">;

/** An NFS pool whose tries fail: healthy, failing, dead, and the decision at the model's bound, within 750 ms. */
function failsFast(row: NfsRow, decision: "earliest" | "latest" = "earliest"): MatrixRow {
  return { ...row, pool: "nfs", states: FAIL_FAST, decision, toleranceMs: 750 };
}

/** An NFS pool that rides the fault out through these states: no decision. */
function ridesOut(states: readonly TargetState[], row: NfsRow): MatrixRow {
  return { ...row, pool: "nfs", states, decision: "none", toleranceMs: 0 };
}

/** Verdict of each DRBD fixture (packages/storage-drbd/test/fixtures/README.md) as the pool's state. */
const DRBD_FIXTURES: readonly { fixture: string; verdict: string; states: readonly TargetState[]; decision: ExpectedDecision }[] = [
  { fixture: "two-node-healthy", verdict: "healthy: two nodes, Primary and Secondary", states: ["healthy"], decision: "none" },
  { fixture: "three-node-tiebreaker", verdict: "healthy: a diskless tiebreaker", states: ["healthy"], decision: "none" },
  { fixture: "diskless-client", verdict: "healthy: this host diskless, data through its peers", states: ["healthy"], decision: "none" },
  { fixture: "secondary-only", verdict: "healthy: Secondary only", states: ["healthy"], decision: "none" },
  { fixture: "no-resources", verdict: "healthy: no resources", states: ["healthy"], decision: "none" },
  { fixture: "resync-sync-source", verdict: "degraded: resync, this host the source", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "resync-sync-target", verdict: "degraded: resync, this host the target", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "oldest-utils-resync", verdict: "degraded: resync, drbd-utils 9.0 format", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "congested", verdict: "degraded: congested link, Ahead", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "peer-connecting", verdict: "degraded: a peer down, quorum held", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "peer-standalone", verdict: "degraded: a peer StandAlone after split brain", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "secondary-quorum-lost", verdict: "degraded: a Secondary without quorum", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "primary-detached", verdict: "degraded: disk detached, a peer serves the data", states: ["healthy", "degraded"], decision: "none" },
  { fixture: "quorum-lost-suspend-io", verdict: "lost: Primary without quorum, I/O suspended", states: ["healthy", "no-quorum", "dead"], decision: "earliest" },
  { fixture: "quorum-lost-io-error", verdict: "lost: Primary without quorum, writes fail", states: ["healthy", "no-quorum", "dead"], decision: "earliest" },
  { fixture: "older-utils-quorum-lost", verdict: "lost: Primary without quorum, drbd-utils 9.1x format", states: ["healthy", "no-quorum", "dead"], decision: "earliest" },
  { fixture: "primary-no-data", verdict: "lost: no accessible data (suspended no-data)", states: FAIL_FAST, decision: "earliest" },
];

export const MATRIX: readonly MatrixRow[] = [
  ridesOut(["healthy", "slow"], {
    id: "nfs-slow",
    case: "storage slower than the slow threshold, within the timeout",
    inject: { kind: "storage", fault: { delayMs: 0.3 * TIMEOUT_MS, ops: ["fsync"] } },
    // The fault alone passes the slow threshold; the child's own start (up to a second when the
    // machine is busy) still fits in the timeout.
    properties: { "hb.slow.threshold": "0.25" },
    fault: `every fsync takes ${0.3 * TIMEOUT_MS} ms (0.3 × the timeout, over the slow threshold), for good`,
  }),
  failsFast(
    {
      id: "nfs-too-slow",
      case: "storage slower than the timeout",
      inject: { kind: "storage", fault: { delayMs: 1.5 * TIMEOUT_MS, ops: ["fsync"] } },
      fault: `every fsync takes ${1.5 * TIMEOUT_MS} ms (1.5 × the timeout), for good`,
    },
    "latest",
  ),
  ridesOut(["healthy", "failing", "healthy"], {
    id: "spike-pause-1",
    case: "latency spike ending in the pause after try 1",
    inject: { kind: "storage", fault: HANG, ends: { midPauseAfterTry: 1 } },
    fault: "every write operation hangs in the kernel from the last good heartbeat until the middle of the pause after try 1",
  }),
  ridesOut(["healthy", "failing", "healthy"], {
    id: "spike-pause-2",
    case: "latency spike ending in the pause after try 2",
    inject: { kind: "storage", fault: HANG, ends: { midPauseAfterTry: 2 } },
    fault: "every write operation hangs from the last good heartbeat until the middle of the pause after try 2",
  }),
  ridesOut(["healthy", "failing", "slow", "healthy"], {
    id: "spike-clears-before-budget",
    case: "a hang that clears just before the budget",
    inject: { kind: "storage", fault: HANG, ends: { beforeLatestDecisionMs: TIMEOUT_MS / 4 } },
    fault: `every write operation hangs from the last good heartbeat until ${TIMEOUT_MS / 4} ms before the latest decision (inside try 3)`,
    also: "try 3 is released by the storage and succeeds, late (slow): no decision",
  }),
  failsFast(
    {
      id: "spike-past-budget",
      case: "latency spike ending just past the budget",
      inject: { kind: "storage", fault: HANG, ends: { afterLatestDecisionMs: TIMEOUT_MS / 4 } },
      fault: `every write operation hangs from the last good heartbeat until ${TIMEOUT_MS / 4} ms after the latest decision`,
    },
    "latest",
  ),
  failsFast(
    {
      id: "spike-long",
      case: "latency spike several budgets long",
      inject: { kind: "storage", fault: HANG, ends: { afterLatestDecisionMs: 4 * TIMEOUT_MS } },
      fault: `every write operation hangs from the last good heartbeat until ${4 * TIMEOUT_MS} ms after the latest decision`,
    },
    "latest",
  ),
  failsFast(
    {
      id: "hang-mid-attempt",
      case: "a hang that starts mid-attempt",
      inject: { kind: "storage-hang-mid-attempt" },
      fault: "the next attempt rewrites its heartbeat file in place, then its fsync hangs; from then on every operation hangs",
      also: "the hung attempt fails at its own deadline, counted from its start",
    },
    "latest",
  ),
  failsFast({
    id: "nfs-eio",
    case: "EIO",
    inject: { kind: "storage", fault: { errno: 5, ops: ["fsync"] } },
    fault: "every fsync fails with EIO, for good",
  }),
  failsFast({
    id: "mount-vanishes",
    case: "a mount that disappears",
    inject: { kind: "mount-vanishes" },
    fault: "the pool's line disappears from the mount table (hb.mounts.file); the folder stays, on the local disk",
    also: "nothing is written to the folder once it is no longer a mount",
  }),
  {
    id: "drbdsetup-hangs",
    case: "drbdsetup hangs",
    pool: "linstor",
    inject: { kind: "drbdsetup", hang: true },
    fault: "drbdsetup events2 never answers (as under suspend-io), for good",
    states: FAIL_FAST,
    decision: "latest",
    toleranceMs: 750,
  },
  {
    id: "drbdsetup-fails",
    case: "drbdsetup fails",
    pool: "linstor",
    inject: { kind: "drbdsetup", exit: 20, stderr: "Failed to modprobe drbd (No such file or directory)" },
    fault: "drbdsetup events2 exits 20 (no DRBD kernel module), for good",
    states: FAIL_FAST,
    decision: "earliest",
    toleranceMs: 750,
  },
  ...DRBD_FIXTURES.map(
    (entry): MatrixRow => ({
      id: `drbd-${entry.fixture}`,
      case: `DRBD ${entry.verdict}`,
      pool: "linstor",
      inject: { kind: "drbd-fixture", fixture: entry.fixture },
      fault: `drbdsetup events2 answers ${entry.fixture}.events2.txt, for good`,
      states: entry.states,
      decision: entry.decision,
      toleranceMs: entry.decision === "none" ? 0 : 750,
    }),
  ),
  failsFast(
    {
      id: "graceful-systemctl-hangs",
      case: "systemctl hangs during graceful-reboot",
      action: "graceful-reboot",
      inject: { kind: "storage", fault: HANG },
      // The fallback's record is written by a Node child within one fence step: room for it to
      // start on a loaded machine (300 ms lost it at a load average of 5).
      properties: { "hb.fence.step.timeout": "1000" },
      fault: "every write operation hangs, for good; `systemctl --no-block reboot` never returns",
      also: "b is written to the sysrq trigger at the graceful deadline plus the flush wait, by the model's reset deadline; the record names the fallback",
    },
    "latest",
  ),
  failsFast({
    id: "state-dir-read-only",
    case: "an unwritable state directory (read-only)",
    inject: { kind: "state-dir", stateDir: "read-only" },
    // Room for the fake logger to start on a loaded machine: the syslog line is what is checked.
    properties: { "hb.fence.step.timeout": "1000" },
    fault: "hb.state.dir becomes read-only (EROFS); then the pool's mount disappears",
    also: "the fence record cannot be written, syslog says so, and b is still written on time",
  }),
  failsFast({
    id: "state-dir-hangs",
    case: "an unwritable state directory (hung)",
    inject: { kind: "state-dir", stateDir: "hang" },
    properties: { "hb.fence.step.timeout": "1000" },
    fault: "hb.state.dir hangs in the kernel (a hung FUSE mount over it); then the pool's mount disappears",
    also: "the fence record never answers, the action goes on at its step deadline, b is written on time while the record's write is still held in the kernel; syslog says so",
  }),
  {
    id: "event-loop-stalled",
    case: "hbd's own event loop stalled",
    pool: "linstor",
    inject: { kind: "event-loop-stall", stallMs: 1900, watchdogTimeoutS: 2 },
    properties: { "heartbeat.update.timeout": "10000", "hb.watchdog": "device" },
    // A 10 s timeout gives hbd its production lag limit of 1 s (min(1 s, timeout/10)).
    fault: "hbd's event loop is busy for 1.9 s, less than the watchdog device's 2 s timeout (a file as the device)",
    states: ["healthy"],
    decision: "watchdog",
    toleranceMs: 0,
    also: "the tick that runs late after the stall keeps no keepalive, so the device is not fed for longer than its timeout; keepalives resume afterwards",
  },
  ridesOut(["healthy"], {
    id: "descriptor-exhaustion",
    case: "descriptor exhaustion through the status endpoint",
    inject: { kind: "idle-connections", count: IDLE_CONNECTIONS },
    // The attackers' reconnections cost CPU on a 2-core machine, and a heartbeat's child then
    // starts late: slow, which never fences. The row is about failed tries, not latency.
    properties: { "hb.slow.threshold": "0.95" },
    fault: `two processes of uid 65534 open ${IDLE_CONNECTIONS} idle connections to hbd's status endpoint and reconnect whatever is closed (hbd runs with this process's RLIMIT_NOFILE, 20 000 here)`,
    also: "hbd's open descriptors stay under 200 and every heartbeat under attack succeeds: no EMFILE, no failed try, no decision",
  }),
  failsFast({
    id: "hostile-status-port",
    case: "a hostile listener on the status port",
    inject: { kind: "status-port-held" },
    fault: "a process of uid 65534 holds hb.status.listen before hbd starts, answering 'maintenance until 2099'; then the pool's mount disappears",
    also: "hbd starts anyway, reports the endpoint unbound (EADDRINUSE) in its status and health, and fences on time",
  }),
  failsFast({
    id: "reload-broken-file",
    case: "reload with a broken file",
    inject: { kind: "reload-broken-file", file: "garbage" },
    properties: { "kvm.heartbeat.fence.action": "log-only", "hb.fence.dry.run": "true" },
    fault: "agent.properties is replaced by binary garbage and hbd reloads (SIGHUP); then the pool's mount disappears",
    also: "the reload is refused and the configuration shown stale; the decision is log-only's and dry run, nothing reaches the sysrq trigger",
  }),
  failsFast({
    id: "reload-missing-file",
    case: "reload with the file missing",
    inject: { kind: "reload-broken-file", file: "removed" },
    properties: { "kvm.heartbeat.fence.action": "log-only", "hb.fence.dry.run": "true" },
    fault: "agent.properties is removed and hbd reloads (SIGHUP); then the pool's mount disappears",
    also: "as above: CloudStack's defaults (reboot) are never taken on a reload",
  }),
  ridesOut(["healthy"], {
    id: "full-pool",
    case: "a full pool",
    inject: { kind: "full-pool" },
    fault: "the pool is a tmpfs; after a good heartbeat every block and every inode of it is used (a new file and an appended byte both get ENOSPC)",
    also: "the heartbeat keeps landing: hb-<host> is rewritten in place (same inode, a new timestamp) on a pool where nothing can be created",
  }),
  ridesOut(["healthy"], {
    id: "huge-timer",
    case: "a duration no timer can hold",
    inject: { kind: "settings-only" },
    properties: { "kvm.heartbeat.update.frequency": "3000000000" },
    expectedProblems: ["kvm.heartbeat.update.frequency"],
    watchMs: 5_000,
    fault: "kvm.heartbeat.update.frequency=3000000000 (over 2³¹−1 ms, which a timer runs as 1 ms)",
    also: "the value is reported with its line and the default (60 s) is used: no heartbeat in a hot loop",
  }),
];

/** Fixtures of packages/storage-drbd/test/fixtures that hold DRBD state (each needs a row). */
export const DRBD_FIXTURE_NAMES: readonly string[] = DRBD_FIXTURES.map((entry) => entry.fixture);

/**
 * The neighbour side: hb's readers judging another host's heartbeat file, run as the agent runs
 * them (the built `hb`, stdout and stderr merged), on a real FUSE mount. hbd never reads a
 * neighbour's file, so these rows are a table of their own. A reader says DEAD only on evidence:
 * a readable timestamp older than the threshold. Its own I/O error is no evidence.
 */
export interface ReaderRow {
  readonly id: string;
  readonly case: string;
  readonly fault: string;
  /** The fault on the pool while the reader runs (none: the file reads as it is). */
  readonly storageFault?: Fault;
  /** Age of the suspect's hb-<host> file, in seconds: past the threshold (60 s) it is stale. */
  readonly heartbeatAgeS: number;
  /** `hb nfs check`, or `hb compat kvmheartbeat -r` (what kvmheartbeat.sh -r runs). */
  readonly reader: "nfs-check" | "compat-read";
  readonly expected: {
    readonly exitCode: number;
    readonly firstLine: RegExp;
    /** Whether the first line, the one the agent reads, says DEAD. */
    readonly dead: boolean;
    /** The verdict in words, for the rendered table. */
    readonly verdict: string;
  };
}

/** The suspect's heartbeat, 10 minutes old: stale against the 60 s threshold. */
const STALE_S = 600;
const EIO_ON_READ: Fault = { errno: 5, ops: ["read"] };

export const READER_MATRIX: readonly ReaderRow[] = [
  {
    id: "reader-eio-check",
    case: "reader EIO: hb nfs check",
    fault: "the suspect's hb-<host> holds a stale timestamp, and every read of it fails with EIO",
    storageFault: EIO_ON_READ,
    heartbeatAgeS: STALE_S,
    reader: "nfs-check",
    expected: { exitCode: 2, firstLine: /^10\.0\.0\.9: CANNOT JUDGE \(unreadable\): the heartbeat file cannot be read \(Input\/output error\)$/, dead: false, verdict: "CANNOT JUDGE, exit 2" },
  },
  {
    id: "reader-eio-compat",
    case: "reader EIO: kvmheartbeat.sh -r (hb compat kvmheartbeat -r)",
    fault: "the suspect's hb-<host> holds a stale timestamp, and every read of it fails with EIO",
    storageFault: EIO_ON_READ,
    heartbeatAgeS: STALE_S,
    reader: "compat-read",
    expected: { exitCode: 0, firstLine: /^=====> CANNOT JUDGE: the heartbeat file cannot be read \(Input\/output error\) <=====$/, dead: false, verdict: "first line CANNOT JUDGE (no DEAD: the agent reads ALIVE), exit 0" },
  },
  {
    id: "reader-stale-check",
    case: "evidence: hb nfs check on a stale heartbeat",
    fault: "none: the suspect's hb-<host> holds a readable timestamp 600 s old",
    heartbeatAgeS: STALE_S,
    reader: "nfs-check",
    expected: { exitCode: 1, firstLine: /^10\.0\.0\.9: DEAD \(stale\): last write 60\d s ago, more than the maximum of 60 s$/, dead: true, verdict: "DEAD, exit 1" },
  },
  {
    id: "reader-stale-compat",
    case: "evidence: kvmheartbeat.sh -r on a stale heartbeat",
    fault: "none: the suspect's hb-<host> holds a readable timestamp 600 s old",
    heartbeatAgeS: STALE_S,
    reader: "compat-read",
    expected: { exitCode: 0, firstLine: /^=====> Considering host as DEAD because last write on \[\S+\] was \[60\d\] seconds ago, but the max interval is \[60\] <======$/, dead: true, verdict: "first line DEAD (upstream's), exit 0" },
  },
];
