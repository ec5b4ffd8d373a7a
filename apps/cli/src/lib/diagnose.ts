// hb doctor's checks: the deployment mode, the shims, whether hbd answers where -c asks it, and
// the host under them (NFS mount options, sysrq, the watchdog device, the agent's script folder).
import { deriveTiming, hostCheckSettings, statusSettings } from "@hb/config";
import { controlSocketPath, parseHbdStatus } from "@hb/protocol";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import type { RunDeps } from "../context.js";
import { sharedConfig } from "./config.js";
import { checkNfsPools, checkScriptFolder, checkSysrq, checkWatchdog, type HostReport } from "./host.js";
import { askControl, askDaemon, daemonView, type ControlFailure, type DaemonAnswer, type DaemonView } from "./hbd-client.js";
import { hbdOwned, readModeMarkers, type ModeMarkers } from "./mode-markers.js";
import { inspectShims, type ShimsReport } from "./shims.js";

/** none: neither the shims nor hbd: the agent runs upstream's scripts. */
export type DeploymentMode = "drop-in" | "hbd-owned" | "none";

export interface DoctorReport {
  readonly mode: DeploymentMode;
  readonly shims: ShimsReport | { readonly dir: string; readonly error: string };
  /** What -c relies on: hbd's answer over its control socket. */
  readonly hbd: {
    readonly answered: boolean;
    readonly view?: DaemonView;
    readonly reason?: string;
    readonly controlSocket: string;
    readonly control: { readonly ok: boolean; readonly failure?: ControlFailure; readonly reason?: string };
    readonly markers: ModeMarkers;
    /** The TCP status endpoint: information only, never a reason not to fence. */
    readonly statusEndpoint: DaemonAnswer;
  };
  readonly verify: ReturnType<typeof deriveTiming>["verify"];
  /** What the host itself allows: every input read from a file a setting names. */
  readonly host: HostReport;
  readonly problems: readonly string[];
}

// A stat, never an open: the operator's --dir is a local folder, and nothing in it is read here.
async function isFolder(path: string): Promise<boolean> {
  return stat(path).then(
    (info) => info.isDirectory(),
    () => false,
  );
}

/** The whole check, for the command and its tests. */
export async function diagnose(options: { readonly file: string | undefined; readonly dir: string | undefined }, deps: RunDeps): Promise<DoctorReport> {
  const config = await sharedConfig(options.file, deps);
  const timing = deriveTiming(config);
  const { stateDir, stepTimeoutMs: step, statusListen } = statusSettings(config);
  // Without --dir, the folder the agent itself runs the scripts from (kvm.scripts.dir).
  const hostSettings = hostCheckSettings(config);
  const scripts = await checkScriptFolder(hostSettings, options.dir);
  const dir = resolve(scripts.dir);
  const [control, statusEndpoint, shims, nfs, sysrq, watchdog] = await Promise.all([
    askControl(stateDir, { op: "status" }, deps, step),
    askDaemon(statusListen, step),
    isFolder(dir).then(async (folder) =>
      folder ? inspectShims(dir).catch((error: unknown) => ({ dir, error: (error as Error).message })) : { dir, error: `${dir} is not a folder (pass --dir: the agent's script folder)` },
    ),
    checkNfsPools(hostSettings, timing),
    checkSysrq(hostSettings),
    checkWatchdog(hostSettings),
  ]);
  const host: HostReport = { nfs, sysrq, watchdog, scripts };
  const markers = await readModeMarkers(control.pidFile, deps.clock, step);
  const status = control.ok ? parseHbdStatus(control.result) : null;
  const view = control.ok && status !== null ? daemonView(status, control.socket) : null;
  const controlReason = control.ok ? (view === null ? `${control.socket} answered with something that is not hbd's status` : undefined) : control.reason;
  // Shims that run another hb still put hb in the agent's path: drop-in, with a problem below.
  const shimsPresent = "scripts" in shims && shims.scripts.every((script) => script.state === "installed" || script.state === "stale");
  const owned = view !== null || statusEndpoint.answered || hbdOwned(markers);
  const mode: DeploymentMode = owned ? "hbd-owned" : shimsPresent ? "drop-in" : "none";

  const problems: string[] = [];
  if ("error" in shims) {
    problems.push(`shims: ${shims.error}`);
  } else {
    for (const script of shims.scripts) {
      switch (script.state) {
        case "installed":
          break;
        case "stale":
          problems.push(`${script.name} is hb's shim but runs another hb (${script.runs ?? "?"}): run hb shims install --dir ${dir}`);
          break;
        case "original":
          problems.push(`${script.name} is not hb's shim: the agent runs upstream's script${owned ? ", which fences on its own beside hbd (two owners of the decision)" : ""}`);
          break;
        case "missing":
          problems.push(`${script.name} is missing from ${dir}`);
          break;
      }
    }
  }
  if (!control.ok && control.failure === "untrusted") {
    problems.push(`hbd's control socket fails the ownership check (${control.reason}): the agent's -c never defers to an answer from it; it must be root's, mode 0600, in a folder only root may write`);
  }
  if (view !== null) {
    if (!view.healthy) problems.push(`hbd answers on ${control.socket} but does not report itself healthy: the shims' -c will not defer to it`);
    const endpoint = status?.statusEndpoint ?? null;
    if (endpoint?.bound === false) problems.push(`hbd could not bind its status endpoint ${endpoint.listen ?? statusListen} (${endpoint.error ?? "no reason given"}): hbd runs, but Prometheus and hb status without root see nothing`);
    const stale = status?.config?.stale ?? null;
    if (stale !== null) problems.push(`hbd's configuration is stale since ${stale.since ?? "?"}: ${stale.reason ?? "?"} (hbd keeps the configuration it had)`);
  } else if (owned && !(control.ok === false && control.failure === "untrusted")) {
    const notRoot = !control.ok && /permission denied/.test(control.reason);
    problems.push(
      notRoot
        ? `hbd is meant to run here, but only root may ask it over its control socket, which is what the agent's -c relies on: run hb doctor as root (${controlReason})`
        : `hbd is meant to run here but does not answer on its control socket (${controlReason ?? "?"}): the agent's -c decides on its own, and says so in syslog`,
    );
  }
  if (mode === "none") problems.push("neither the shims nor hbd: the agent runs upstream's scripts (install: see the README, Deployment modes)");
  for (const invariant of timing.invariants) {
    if (!invariant.holds && (invariant.id === "verify-fits-agent-timeout" || invariant.id === "fence-verify-storage")) problems.push(`${invariant.id}: ${invariant.message}`);
  }
  problems.push(...scripts.problems);
  if (nfs.error !== null) problems.push(`NFS pools: ${nfs.error}: their mount options cannot be checked`);
  for (const pool of nfs.pools) problems.push(...pool.problems);
  problems.push(...sysrq.problems, ...watchdog.problems);
  const hbd = {
    answered: view !== null,
    ...(view === null ? {} : { view }),
    ...(controlReason === undefined ? {} : { reason: controlReason }),
    controlSocket: controlSocketPath(stateDir),
    control: control.ok ? { ok: true } : { ok: false, failure: control.failure, reason: control.reason },
    markers,
    statusEndpoint,
  };
  return { mode, shims, hbd, verify: timing.verify, host, problems };
}
