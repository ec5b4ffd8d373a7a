// The lab's scenarios: which guest steps boot in turn on one disk, and how their outcome and
// times are judged against hb's timing model (`hb timing explain --json` in the guest, with the
// scenario's own agent.properties). Each check becomes one row of docs/lab.md.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { repackage } from "../../../packaging/build-packages.mjs";
import { REPO_ROOT, run, say } from "./util.mjs";
import { firstLine, markers } from "./vm.mjs";

const s = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** A timed row: measured seconds within [low, high] (seconds), shown with the prediction. */
function timed(what, { predicted, measured, low, high, tolerance }) {
  const pass = measured !== null && measured !== undefined && Number.isFinite(measured) && measured >= low && measured <= high;
  return { what, predicted, measured: measured === null || measured === undefined || !Number.isFinite(measured) ? "not seen" : `${measured.toFixed(2)} s`, tolerance, pass };
}
function fact(what, { predicted, measured, pass }) {
  return { what, predicted, measured, tolerance: "—", pass: Boolean(pass) };
}

const decisionLine = /fence decision:/;
// A try cut at its deadline ends when hbd sees its child killed: on a busy emulated CPU that is up
// to a second late (10.76 s for a 10 s deadline was seen), so each try may add this much.
const LATE_PER_TRY = 1;
const tries = (timing) => timing?.values?.["kvm.heartbeat.update.max.tries"] ?? 3;
/** "here after 24.01 s" in the decision's arithmetic: the decision, after the last good heartbeat. */
function decisionAfterLastGood(record) {
  const match = /here after ([0-9.]+) s/.exec(record?.timing?.arithmetic ?? "");
  return match ? Number(match[1]) : null;
}
function exitAfter(boot, marker) {
  const at = markers(boot.lines).get(marker);
  return at === undefined || boot.timedOut ? null : boot.exitAt - at;
}
function resetAfterDecision(boot) {
  const line = firstLine(boot.lines, decisionLine);
  return line && !boot.timedOut ? boot.exitAt - line.at : null;
}
const wallMs = (iso) => (iso ? Date.parse(iso) : NaN);

/** Rows shared by every scenario whose pool hangs under a running hbd and ends in a reset. */
function hangRows(boot, timing, record, { resetMs }) {
  const rows = [];
  const latest = timing.decisionLatestMs;
  const decided = decisionAfterLastGood(record);
  rows.push(timed("decision after the last good heartbeat (hbd's record)", {
    predicted: `${s(latest)} (decisionLatestMs: every try cut at its deadline)`, measured: decided, low: latest / 1000 - 0.75, high: latest / 1000 + LATE_PER_TRY * tries(timing), tolerance: `−0.75 s / +${LATE_PER_TRY * tries(timing)} s (${LATE_PER_TRY} s per try)`,
  }));
  const reset = resetAfterDecision(boot);
  rows.push(timed("reset after the decision (host clock: hbd's decision line on the console → qemu exit)", {
    predicted: `${s(resetMs.low)} to ${s(resetMs.high)}`, measured: reset, low: resetMs.low / 1000 - 0.25, high: resetMs.high / 1000 + 1, tolerance: "−0.25 s / +1 s",
  }));
  // From the fault on the host's clock: the model's decision less the time the last good heartbeat
  // was already old at the fault (guest wall clock), plus the action's time to the reset.
  const sinceGood = (Number(boot.results.fault_wall_ms) - wallMs(boot.results.last_good_at)) / 1000;
  const fromFault = exitAfter(boot, "fault");
  const low = latest / 1000 - sinceGood + resetMs.low / 1000;
  const high = latest / 1000 - sinceGood + resetMs.high / 1000;
  rows.push(timed("reset after the fault (host clock: the guest's fault marker → qemu exit)", {
    predicted: Number.isFinite(sinceGood) ? `${low.toFixed(2)} to ${high.toFixed(2)} s (last good heartbeat ${sinceGood.toFixed(2)} s old at the fault)` : "?", measured: fromFault,
    low: low - 0.75, high: high + LATE_PER_TRY * tries(timing), tolerance: `−0.75 s / +${LATE_PER_TRY * tries(timing)} s`,
  }));
  return rows;
}

function readTiming(ctx, step) {
  const timing = ctx.json(`${step}.timing.json`);
  if (!timing) throw new Error(`the guest wrote no timing model for ${step}`);
  return timing;
}
function fenceRecord(ctx, step) {
  return ctx.json(`${step}.fence.json`)?.record ?? null;
}
const rebootWindow = (timing) => {
  const v = timing.values;
  // reboot: sysrq s, then b after the flush wait; the steps before it are bounded by 3 T in all.
  return { low: v["hb.fence.flush.wait"], high: timing.resetLatestMs - timing.decisionLatestMs };
};

export const SCENARIOS = [
  {
    id: "1",
    name: "nfs-server-stops",
    title: "NFS server stops (hard v4.1 mount, loopback kernel server, nftables drop on 2049; action reboot)",
    steps: ["nfs-stop", "nfs-stop-after"],
    evaluate(ctx) {
      const [boot, after] = ctx.boots;
      const timing = readTiming(ctx, "nfs-stop");
      const record = fenceRecord(ctx, "nfs-stop-after");
      const rows = [];
      rows.push(fact("hbd's write blocks in D state (/proc/PID/stat), in its native storage worker", {
        predicted: "state D while the server is frozen, in /opt/hb/hb-storage-worker (hb.storage.worker)",
        measured: boot.results.dstate_stat ? `${stateOf(boot.results.dstate_stat)}, wchan ${boot.results.dstate_wchan || "?"}, in ${(boot.results.dstate_cmdline ?? "?").trim()}` : "not seen",
        pass: stateOf(boot.results.dstate_stat ?? "") === "D" && (boot.results.dstate_cmdline ?? "").startsWith("/opt/hb/hb-storage-worker"),
      }));
      const answered = markers(boot.lines).has("status-answered");
      const ms = (key) => (boot.results[key] ? `${(Number(boot.results[key]) / 1000).toFixed(2)} s` : "no answer");
      rows.push(fact("hbd answers during the hang (`hb status` over the control socket; GET /status from bash)", {
        predicted: "an answer, the pool failing or slow",
        measured: answered ? `hb status in ${ms("hb_status_ms")} (${boot.results.status_during_hang}); HTTP in ${ms("http_status_ms")}` : `no answer: ${boot.results.status_error || "?"}`,
        pass: answered,
      }));
      rows.push(...hangRows(boot, timing, record, { resetMs: rebootWindow(timing) }));
      rows.push(fact("the record survives the reset; the boot id differs", {
        predicted: "record's boot id = the first boot's; the second boot's differs",
        measured: `record ${short(after.results.record_boot_id)}, first boot ${short(boot.results.boot_id)}, second boot ${short(after.results.boot_id)}`,
        pass: Boolean(record) && after.results.record_boot_id === boot.results.boot_id && after.results.boot_id !== boot.results.boot_id,
      }));
      return rows;
    },
  },
  {
    id: "4",
    name: "watchdog",
    title: "watchdog: hbd SIGSTOPped with hb.watchdog=device (i6300esb, 10 s) and hb.watchdog=systemd (the shipped drop-in, WatchdogSec=60)",
    steps: ["wd-device", "wd-systemd"],
    // systemd logs to the console in the second step, so that its watchdog timeout is timed there.
    append: { "wd-device": ["i6300esb.heartbeat=10"], "wd-systemd": ["systemd.log_target=console"] },
    evaluate(ctx) {
      const [device, systemd] = ctx.boots;
      const rows = [];
      const t = Number(device.results.watchdog_timeout);
      rows.push(timed(`device: reset after SIGSTOP (i6300esb, timeout ${t} s, keepalive every ${(t / 3).toFixed(2)} s)`, {
        predicted: `${((t * 2) / 3).toFixed(2)} to ${t.toFixed(2)} s (the timeout after the last keepalive)`, measured: exitAfter(device, "stop"),
        low: (t * 2) / 3 - 0.25, high: t + 1, tolerance: "−0.25 s / +1 s",
      }));
      const w = Number(systemd.results.watchdog_sec) || 60;
      const timeout = firstLine(systemd.lines, /hbd\.service: Watchdog timeout/);
      const stopAt = markers(systemd.lines).get("stop");
      const age = Number(systemd.results.keepalive_age_ms) / 1000;
      rows.push(fact(`systemd: hbd's keepalives on time (every ${w / 2} s)`, {
        predicted: `the last one at most ${(w / 2).toFixed(2)} s before SIGSTOP`, measured: Number.isFinite(age) ? `${age.toFixed(2)} s before` : "?", pass: age <= w / 2 + 1,
      }));
      rows.push(timed(`systemd: systemd's watchdog timeout after SIGSTOP (WatchdogSec=${w} s after the last keepalive)`, {
        predicted: Number.isFinite(age) ? `${(w - age).toFixed(2)} s (the last keepalive ${age.toFixed(2)} s before SIGSTOP)` : "?", measured: timeout && stopAt !== undefined ? timeout.at - stopAt : null,
        low: w - age - 0.5, high: w - age + 1.5, tolerance: "−0.5 s / +1.5 s",
      }));
      rows.push(timed("systemd: reset after SIGSTOP (FailureAction=reboot-force)", {
        predicted: `${(w / 2).toFixed(2)} to ${w.toFixed(2)} s + the forced reboot (every process killed, file systems unmounted)`, measured: exitAfter(systemd, "stop"),
        low: w / 2 - 0.25, high: w + 60, tolerance: "−0.25 s / +60 s (reboot-force's own shutdown)",
      }));
      return rows;
    },
  },
  {
    id: "2",
    name: "graceful-stall",
    title: "graceful-reboot while a unit stalls the shutdown for ever (hb.fence.graceful.deadline 15 s)",
    steps: ["graceful-stall", "graceful-stall-after"],
    evaluate(ctx) {
      const [boot, after] = ctx.boots;
      const timing = readTiming(ctx, "graceful-stall");
      const record = fenceRecord(ctx, "graceful-stall-after");
      const g = timing.values["hb.fence.graceful.deadline"];
      const rows = hangRows(boot, timing, record, { resetMs: { low: g, high: timing.resetLatestMs - timing.decisionLatestMs } });
      const stalled = firstLine(boot.lines, /stop job is running for lab: a service whose stop never ends|lab-stall/i);
      rows.push(fact("the shutdown stalls on the unit (systemd on the console)", { predicted: "a stop job that never ends", measured: stalled ? stalled.text.trim().slice(0, 100) : "not seen", pass: Boolean(stalled) }));
      rows.push(fact("the fallback's record survives the reset", { predicted: "a fallback record (sysrq b)", measured: after.results.fallback_record ?? "none", pass: Boolean(after.results.fallback_record) }));
      return rows;
    },
  },
  {
    id: "3",
    name: "agent-actions",
    title: "restart-agent and log-only: a stand-in cloudstack-agent unit, the VM keeps running",
    steps: ["agent-actions"],
    timeoutSeconds: 900,
    evaluate(ctx) {
      const [boot] = ctx.boots;
      const rows = [];
      for (const action of ["restart-agent", "log-only"]) {
        const timing = ctx.json(`agent-actions.${action}.timing.json`);
        const record = ctx.json(`agent-actions.${action}.fence.json`)?.record ?? null;
        const latest = timing?.decisionLatestMs ?? NaN;
        rows.push(timed(`${action}: decision after the last good heartbeat (hbd's record)`, {
          predicted: `${s(latest)} (decisionLatestMs)`, measured: decisionAfterLastGood(record), low: latest / 1000 - 0.75, high: latest / 1000 + LATE_PER_TRY * tries(timing), tolerance: `−0.75 s / +${LATE_PER_TRY * tries(timing)} s (${LATE_PER_TRY} s per try)`,
        }));
        rows.push(fact(`${action}: the record says what it is`, { predicted: `action ${action}, not a fence`, measured: record ? `action ${record.action}, fences ${record.fences}` : "no record", pass: record?.action === action && record?.fences === false }));
        const pids = (boot.results[`${action}.agent_pid`] ?? "").split(" -> ");
        if (action === "restart-agent") {
          rows.push(fact("restart-agent: cloudstack-agent restarted", { predicted: "a new main pid", measured: boot.results[`${action}.agent_pid`] ?? "?", pass: pids.length === 2 && pids[0] !== pids[1] && pids[1] !== "0" }));
        } else {
          rows.push(fact("log-only: cloudstack-agent left alone", { predicted: "the same main pid", measured: boot.results[`${action}.agent_pid`] ?? "?", pass: pids.length === 2 && pids[0] === pids[1] }));
        }
        rows.push(fact(`${action}: the VM keeps running`, { predicted: "up 10 s after the decision", measured: boot.results[`${action}.alive_after`] ?? "not seen", pass: markers(boot.lines).has(`alive-${action}`) }));
        rows.push(fact(`${action}: syslog line with tag heartbeat in the journal`, { predicted: "journalctl -t heartbeat", measured: boot.results[`${action}.journal`] || "none", pass: Boolean(boot.results[`${action}.journal`]) }));
      }
      return rows;
    },
  },
  {
    id: "5",
    name: "agent-path",
    title: "the agent's own path: hb's shims over stand-in scripts, a bash loop in the agent's manner, then kvmheartbeat.sh -c",
    steps: ["agent-shims"],
    evaluate(ctx) {
      const [boot] = ctx.boots;
      const timing = readTiming(ctx, "agent-shims");
      const rows = [];
      const cAfterGood = (Number(boot.results.c_call_wall_ms) - Number(boot.results.last_good_wall_ms)) / 1000;
      const up = timing.upstreamDecisionLatestMs / 1000;
      rows.push(timed("-c called after the last good write (the agent's loop)", {
        predicted: `${up.toFixed(2)} s (upstreamDecisionLatestMs: the agent pauses after the last try too)`, measured: cAfterGood, low: up - 1, high: up + LATE_PER_TRY * tries(timing), tolerance: `−1 s / +${LATE_PER_TRY * tries(timing)} s (the loop's own steps: ${LATE_PER_TRY} s per try)`,
      }));
      const answer = timing.verify.actionAnswerMs / 1000;
      const f = timing.values["hb.fence.flush.wait"] / 1000;
      rows.push(timed("reset after -c (host clock: the loop's c-call marker → qemu exit)", {
        predicted: `${f.toFixed(2)} to ${answer.toFixed(2)} s (flush wait; the reboot action's time to answer) + hb's start`, measured: exitAfter(boot, "c-call"), low: f - 0.25, high: answer + 2, tolerance: "−0.25 s / +2 s (a Node start under emulation)",
      }));
      rows.push(fact("hb shims install over the stand-in scripts", {
        predicted: "installed", measured: boot.results.shims_install === "ok" ? `installed: ${boot.results.shims ?? ""}` : `${boot.results.shims_install ?? "?"} (the lab wrote the same shims by hand to run the rest)`, pass: boot.results.shims_install === "ok",
      }));
      return rows;
    },
  },
  {
    id: "6",
    name: "soft-mount",
    title: "soft mount: NFS v3 soft,timeo=10,retrans=2; the kernel's EIO, then hbd's tries failing with it (log-only)",
    steps: ["soft-mount"],
    evaluate(ctx) {
      const [boot] = ctx.boots;
      const timing = readTiming(ctx, "soft-mount");
      const record = ctx.json("soft-mount.fence.json")?.record ?? null;
      const rows = [];
      const dd = Number(boot.results.dd_seconds) / 1000;
      // RPC over TCP: the first retransmission after timeo, each next one a timeo later (linear
      // back-off); EIO at the major timeout after retrans retransmissions.
      rows.push(timed("a write on the frozen soft mount returns EIO (dd oflag=sync: its open)", {
        predicted: "3.00 to 6.00 s (timeo 1 s, 2 retransmissions, linear back-off over TCP)", measured: boot.results.dd_rc === "0" ? NaN : dd, low: 2.5, high: 7, tolerance: "−0.5 s / +1 s",
      }));
      rows.push(fact("the write's error", { predicted: "Input/output error", measured: boot.results.dd_error || "?", pass: /Input\/output error/.test(boot.results.dd_error ?? "") }));
      // Each of hbd's tries sends several RPCs (open, write, commit), each with its own major
      // timeout: a try ends with the kernel's EIO or at hb's deadline, whichever comes first, and
      // the decision falls inside the model's window either way.
      const deadline = timing.attemptDeadlineMs / 1000;
      const failed = (record?.lastAttempts ?? []).filter((a) => a.result !== "ok");
      const shown = failed.map((a) => `${a.result} ${(a.latencyMs / 1000).toFixed(2)} s${/EIO|Input\/output/.test(a.message) ? " (EIO)" : ""}`).join(", ");
      rows.push(fact("hbd's failed tries: the kernel's EIO or hb's deadline, whichever first", {
        predicted: `each at most ${deadline.toFixed(2)} s (attemptDeadlineMs) + ${LATE_PER_TRY} s`, measured: shown || "no attempts in the record",
        pass: failed.length > 0 && failed.every((a) => a.latencyMs / 1000 <= deadline + LATE_PER_TRY),
      }));
      const decided = decisionAfterLastGood(record);
      rows.push(timed("decision after the last good heartbeat (hbd's record)", {
        predicted: `${s(timing.decisionEarliestMs)} to ${s(timing.decisionLatestMs)} (decisionEarliestMs to decisionLatestMs)`,
        measured: decided, low: timing.decisionEarliestMs / 1000, high: timing.decisionLatestMs / 1000 + LATE_PER_TRY * tries(timing), tolerance: `+${LATE_PER_TRY * tries(timing)} s (${LATE_PER_TRY} s per try)`,
      }));
      return rows;
    },
  },
  {
    id: "7",
    name: "package-upgrade",
    title: "the .deb: installed, hbd enabled with the shipped watchdog drop-in (`hb.watchdog=systemd`, WatchdogSec=60) on a real NFS pool (the export on tmpfs), `dpkg -i` of the next version while hbd runs, then `dpkg -r hb` (`hb.heartbeat.max.age=30000`: with writes every 5 s, a neighbour's threshold must cover a healthy writer's 15 s)",
    steps: ["pkg-upgrade"],
    timeoutSeconds: 900,
    prepare: packagesForUpgrade,
    evaluate(ctx) {
      const [boot] = ctx.boots;
      const r = boot.results;
      const timing = readTiming(ctx, "pkg-upgrade");
      const rows = [];
      const v2 = (r.versions ?? "").split(" ")[1];
      rows.push(fact("dpkg -i: hb and hbd from the package; hbd installed, not enabled", {
        predicted: "/usr/lib/hb/hb for both names; disabled", measured: `${r.hb_path ?? "?"}; ${r.enabled_after_install ?? "?"}`,
        pass: r.hb_path === "/usr/lib/hb/hb /usr/lib/hb/hb" && r.enabled_after_install === "disabled",
      }));
      const [pid1, pid2] = (r.pids ?? "").split(" ");
      const [oldInode, runningInode, fileInode] = (r.exe_inodes ?? "").split(" ");
      rows.push(fact("hbd writes through the package's storage worker, beside its executable", {
        predicted: "/usr/lib/hb/hb-storage-worker", measured: (r.worker_before ?? "").trim() || "no worker seen",
        pass: (r.worker_before ?? "").split(" ").includes("/usr/lib/hb/hb-storage-worker"),
      }));
      rows.push(fact(`dpkg -i ${v2} while hbd runs: postinst restarts hbd on the new executable`, {
        predicted: `a new PID running the new /usr/lib/hb/hb (its inode); package version ${v2}`,
        measured: `PID ${pid1} → ${pid2}; executable inode ${oldInode} → ${runningInode} (the file's: ${fileInode}); ${r.installed_version ?? "?"}; hbd --version: ${r.hbd_version ?? "?"}`,
        pass: Boolean(pid2) && pid1 !== pid2 && pid2 !== "0" && runningInode === fileInode && oldInode !== fileInode && r.installed_version === v2,
      }));
      const writes = (r.writes ?? "").split(" ").filter(Boolean).map(Number);
      const start = Number(r.upgrade_start);
      const gaps = writes.slice(1).map((at, i) => ({ from: writes[i], gap: at - writes[i] }));
      const before = gaps.filter((g) => g.from + g.gap <= start);
      const across = gaps.filter((g) => g.from + g.gap > start);
      const largest = (list) => (list.length ? Math.max(...list.map((g) => g.gap)) : null);
      const bound = timing.neighbourThresholdMs / 1000;
      rows.push(timed("the largest gap between heartbeat writes across the upgrade (the export's file, polled every 0.2 s)", {
        predicted: `below ${bound.toFixed(2)} s (neighbourThresholdMs: older, a neighbour's kvmheartbeat.sh -r calls the host DEAD); before the upgrade ${largest(before)?.toFixed(2) ?? "?"} s (healthyMaxGapMs ${s(timing.healthyMaxGapMs)})`,
        measured: across.length > 0 ? largest(across) : null, low: 0, high: bound, tolerance: "—",
      }));
      const gone = Number(r.old_gone);
      const armed = Number(r.armed_again);
      rows.push(fact("no hbd watching the pool: the old hbd's exit → the new hbd's targets armed", {
        predicted: `below ${bound.toFixed(2)} s (the start-up grace: the new hbd arms on its first good write)`,
        measured: Number.isFinite(armed - gone) ? `${(armed - gone).toFixed(2)} s (dpkg -i took ${(Number(r.upgrade_end) - start).toFixed(2)} s)` : "not seen",
        pass: Number.isFinite(armed - gone) && armed - gone < bound,
      }));
      const [decisionsBefore, decisionsAfter] = (r.decisions ?? "").split(" ");
      rows.push(fact("no fence decision, no decision record", { predicted: "0 decision records", measured: `${decisionsBefore ?? "?"} → ${decisionsAfter ?? "?"}`, pass: decisionsAfter === "0" }));
      const w = Number(r.watchdog_sec) || 60;
      const age = Number(r.keepalive_age_ms) / 1000;
      rows.push(fact(`no watchdog reset (WatchdogSec=${w} s): the same boot ${(Number(r.since_start_ms) / 1000).toFixed(0)} s after the new hbd started`, {
        predicted: `boot id unchanged, no "Watchdog timeout", the last keepalive at most ${(w / 2).toFixed(0)} s old`,
        measured: `boot ${short(r.boot_id)} → ${short(r.boot_id_after_upgrade)}; ${r.watchdog_timeouts ?? "?"} watchdog timeouts; last keepalive ${Number.isFinite(age) ? `${age.toFixed(2)} s` : "?"} old`,
        pass: Boolean(r.boot_id) && r.boot_id === r.boot_id_after_upgrade && r.watchdog_timeouts === "0" && age <= w / 2 + 1,
      }));
      const [active, result, restarts] = (r.unit_state ?? "").split(" ");
      rows.push(fact("the unit: active, not failed, no restart by Restart=", { predicted: "active, result success, NRestarts=0", measured: r.unit_state ?? "?", pass: active === "active" && result === "success" && restarts === "NRestarts=0" }));
      rows.push(fact("the shims and their diversions stay across the upgrade", { predicted: "in place", measured: r.shims_after_upgrade ?? "not in place", pass: r.shims_after_upgrade === "ok" }));
      const removedAlive = markers(boot.lines).has("alive-after-remove");
      rows.push(fact("dpkg -r hb: hbd stopped, no file left, the agent's scripts back, no diversion, agent.properties untouched, no reset", {
        predicted: "inactive; nothing left; scripts restored; 0 diversions; untouched; the same boot 10 s later",
        measured: `${r.hbd_after_remove ?? "?"}; left: ${r.files_left || "nothing"}; scripts ${r.scripts_restored ?? "?"}; ${r.diversions_left ?? "?"} diversions; agent.properties ${r.props_untouched ? "untouched" : "changed"}; boot ${short(r.boot_id_end)}`,
        pass: r.removed === "ok" && /^(inactive|unknown)/.test(r.hbd_after_remove ?? "") && /gone$/.test(r.hbd_after_remove ?? "") && !r.files_left && r.scripts_restored === "ok" && r.diversions_left === "0" && r.props_untouched === "ok" && removedAlive && r.boot_id_end === r.boot_id,
      }));
      return rows;
    },
  },
].sort((a, b) => a.id.localeCompare(b.id));

/**
 * Scenario 7's two packages, into the share: the executable `pnpm release` built, as versions
 * X+lab.1 and X+lab.2 (gzip level 1: the same files, packed in seconds rather than a minute).
 */
function packagesForUpgrade(share) {
  const executable = join(REPO_ROOT, "packaging/dist/hb-linux-x64");
  const built = [executable, join(REPO_ROOT, "packaging/dist/hb-storage-worker-linux-x64"), join(REPO_ROOT, "packaging/dist/stage-x64/usr/share/doc/hb/THIRD-PARTY-LICENSES")];
  if (!built.every((file) => existsSync(file))) {
    say("scenario 7: no released executable here: pnpm release --arch x64");
    run(process.execPath, [join(REPO_ROOT, "scripts/release.mjs"), "--arch", "x64"]);
  }
  const version = JSON.parse(readFileSync(join(REPO_ROOT, "apps/cli/package.json"), "utf8")).version;
  say(`scenario 7: packaging ${executable} (built ${statSync(executable).mtime.toISOString()}) as ${version}+lab.1 and ${version}+lab.2`);
  for (const n of [1, 2]) repackage({ version: `${version}+lab.${n}`, outDir: join(share, "debs"), rpm: false, gzipLevel: 1 });
}

function stateOf(stat) {
  return String(stat).split(") ").pop()?.split(" ")[0] ?? "?";
}
const short = (id) => (id ? String(id).slice(0, 8) : "?");
