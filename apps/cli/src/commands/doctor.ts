import { formatSeconds } from "@hb/config";
import { parseCommandArgs, positionals } from "../args.js";
import type { RunDeps } from "../context.js";
import { diagnose, type DoctorReport } from "../lib/diagnose.js";

const USAGE = "hb doctor [--file F] [--dir DIR] [--json]";

/** Where CloudStack's agent package puts the heartbeat scripts. */
export const AGENT_SCRIPT_DIR = "/usr/share/cloudstack-common/scripts/vm/hypervisor/kvm";

const HELP = `Usage:
  ${USAGE}
      Which deployment mode this host is in, whether the agent's scripts are hb's shims running
      this hb, whether hbd answers on its control socket (root only: run as root), and what the
      host allows: each NFS pool's mount options against the timing model, kernel.sysrq, the
      watchdog device, the agent's script folder. Exit 0 when all is consistent, 1 with the
      problems listed; --json gives all of it as data.

  drop-in     the shims only: the agent's monitor drives; hb corrects and executes its -c
  hbd-owned   hbd runs the loop; the agent's monitor still calls the shims, whose -c defers to hbd
              on hbd's answer over its control socket (<hb.state.dir>/hbd.sock, root's, mode 0600);
              the TCP status endpoint (hb.status.listen) is for people and Prometheus only

DIR is the agent's script folder (default: where the agent finds kvmheartbeat.sh for
kvm.scripts.dir, under /usr/share/cloudstack-agent/lib, then /usr/share/cloudstack-common:
usually ${AGENT_SCRIPT_DIR}).

The host is read from files named by settings: hb.mounts.file (the mount table), hb.sysrq.file
(kernel.sysrq), hb.fence.sysrq.trigger and hb.watchdog.device (looked at, never opened: opening a
watchdog device starts it).
`;

function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const { hbd, shims, verify } = report;
  switch (report.mode) {
    case "hbd-owned":
      lines.push(
        hbd.view !== undefined
          ? `mode: hbd-owned — hbd ${hbd.view.version} runs the loop; the agent's -c defers to it for the ${hbd.view.targets.length} pool(s) it watches while their verdict is not dead`
          : "mode: hbd-owned — but hbd does not answer on its control socket, so the agent's -c decides on its own",
      );
      break;
    case "drop-in":
      lines.push("mode: drop-in — the agent's monitor drives; hb's shims correct and execute its -c");
      break;
    case "none":
      lines.push("mode: none — hb is not in the agent's path");
      break;
  }
  if ("error" in shims) {
    lines.push(`shims: ${shims.error}`);
  } else {
    lines.push(`shims: ${shims.inPlace ? "in place and running this hb" : "NOT (all) in place"} in ${shims.dir}`);
    const words = { installed: "hb's shim, runs this hb", stale: "hb's shim, runs another hb", original: "not hb's shim", missing: "missing" } as const;
    for (const script of shims.scripts) lines.push(`  ${script.name}: ${words[script.state]}${script.original ? ` (original kept as ${script.name}.orig)` : ""}`);
  }
  if (hbd.view !== undefined) {
    const targets = hbd.view.targets.map((target) => `${target.id} ${target.kind} ${target.state ?? "-"}`).join(", ");
    lines.push(`hbd: answers on its control socket ${hbd.view.address}, ${hbd.view.healthy ? "healthy" : "NOT HEALTHY"}${hbd.view.maintenance === null ? "" : `, maintenance until ${hbd.view.maintenance.until}`}; pools: ${targets || "none"}`);
  } else {
    lines.push(`hbd: no answer on its control socket (${hbd.reason ?? "?"})`);
  }
  const endpoint = hbd.statusEndpoint;
  lines.push(
    endpoint.answered
      ? `status endpoint: answers at ${endpoint.view.address} (read-only, for people and Prometheus: never a reason not to fence)`
      : `status endpoint: no answer (${endpoint.reason})`,
  );
  lines.push(`  files: ${hbd.controlSocket}${hbd.markers.pidFile === null ? "" : `; ${hbd.markers.pidFile.path}${hbd.markers.pidFile.pid === null ? "" : ` (pid ${hbd.markers.pidFile.pid}${hbd.markers.pidFile.alive ? "" : ", gone"})`}`}${hbd.markers.enabledUnit === null ? "" : `; enabled: ${hbd.markers.enabledUnit}`}`);
  lines.push(
    verify.mode === "none"
      ? "-c verification: none (upstream's behaviour, apart from deferring to hbd)"
      : `-c verification: hb.fence.verify=${verify.mode}, within ${formatSeconds(verify.deadlineMs)} (the agent kills -c at ${formatSeconds(verify.agentKillsAtMs)}; the action answers within ${formatSeconds(verify.actionAnswerMs)})`,
  );
  lines.push(...hostLines(report));
  lines.push(report.problems.length === 0 ? "No problems." : `${report.problems.length} problem(s):`);
  for (const problem of report.problems) lines.push(`  - ${problem}`);
  return `${lines.join("\n")}\n`;
}

function hostLines({ host }: DoctorReport): string[] {
  const s = formatSeconds;
  const lines: string[] = [];
  const { nfs, sysrq, watchdog, scripts } = host;
  lines.push(
    `agent script folder: ${scripts.agentDir === null ? `no kvmheartbeat.sh under ${scripts.candidates.join(" or ")}` : scripts.agentDir} (kvm.scripts.dir=${scripts.setting})${scripts.matches === false ? `; NOT ${scripts.dir}` : ""}`,
  );
  if (nfs.error !== null) lines.push(`NFS pools: ${nfs.error}`);
  else if (nfs.pools.length === 0) lines.push(`NFS pools: none mounted (${nfs.mountsFile})`);
  for (const pool of nfs.pools) {
    const blocks = pool.worstCaseBlockMs === null ? "blocks until the server answers" : `gives up after ${s(pool.giveUpEarliestMs ?? 0)}–${s(pool.worstCaseBlockMs)}`;
    lines.push(`NFS pool ${pool.mountPoint}: ${pool.mode}, vers=${pool.vers ?? "?"}, proto=${pool.proto}, timeo=${pool.timeo}, retrans=${pool.retrans}: a write ${blocks}`);
    if (pool.note !== null) lines.push(`  ${pool.note}`);
  }
  const value = sysrq.value === null ? `unreadable (${sysrq.error ?? "?"})` : `${sysrq.value} (reboot ${sysrq.allowsReboot ? "allowed" : "NOT allowed"}, sync ${sysrq.allowsSync ? "allowed" : "NOT allowed"})`;
  lines.push(`sysrq: kernel.sysrq=${value}; trigger ${sysrq.trigger.path} ${sysrq.trigger.exists ? "present" : "MISSING"}`);
  lines.push(
    watchdog.mode === "device"
      ? `watchdog: device ${watchdog.device}: ${watchdog.found ?? "?"}${watchdog.timeoutSeconds === null ? "" : `, timeout ${watchdog.timeoutSeconds} s`} (looked at, not opened)`
      : `watchdog: hb.watchdog=${watchdog.mode}`,
  );
  return lines;
}

export async function run(argv: readonly string[], deps: RunDeps): Promise<number> {
  if (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help") {
    deps.stdout(HELP);
    return 0;
  }
  const { values, positionals: words } = parseCommandArgs(argv, { file: { type: "string", short: "f" }, dir: { type: "string" }, json: { type: "boolean" } }, USAGE);
  positionals(words, 0, USAGE);
  const report = await diagnose({ file: values.file, dir: values.dir }, deps);
  deps.stdout(values.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  return report.problems.length === 0 ? 0 : 1;
}
