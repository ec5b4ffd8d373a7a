// One qemu VM under TCG (this machine's /dev/kvm is PVM, which stock kernels cannot use): the
// serial console is read line by line and every line stamped with the host's monotonic clock on
// arrival, so that a guest's marker ("HBLAB mark fault") and qemu's exit (under -no-reboot, a
// reset ends qemu within 0.1 s) can be timed against each other on one clock.
import { spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { performance } from "node:perf_hooks";
import { clearTimeout, setTimeout } from "node:timers";

/**
 * Boots `disk` (a qcow2 overlay) with the lab kernel and runs the scenario step `step` from the
 * 9p share `share`. Resolves when qemu exits (or at `timeoutMs`, when it is killed).
 */
export function bootVm({ image, disk, share, step, serialLog, timeoutMs, append = [], cpus = 2, memoryMb = 1536 }) {
  const args = [
    "-accel", "tcg,thread=multi", "-cpu", "max", "-smp", String(cpus), "-m", String(memoryMb),
    "-kernel", image.kernel, "-initrd", image.initrd,
    "-append", ["console=ttyS0", "root=/dev/vda", "rw", "panic=-1", "loglevel=4", `hblab=${step}`, ...append].join(" "),
    "-drive", `file=${disk},if=virtio,format=qcow2`,
    "-virtfs", `local,path=${share},mount_tag=host0,security_model=none,id=host0`,
    "-device", "i6300esb",
    "-nic", "none", "-display", "none", "-monitor", "none", "-serial", "stdio",
    "-no-reboot",
  ];
  const log = createWriteStream(serialLog);
  const startedAt = performance.now();
  const lines = [];
  return new Promise((resolve) => {
    const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "pipe", "pipe"] });
    let partial = "";
    let stderr = "";
    const take = (text, at) => {
      // The serial console speaks CRLF and sometimes ANSI colours (systemd's status lines).
      const clean = text.replace(/\r/g, "").replace(/\x1b\[[0-9;]*[A-Za-z]/g, ""); // eslint-disable-line no-control-regex
      lines.push({ at: (at - startedAt) / 1000, text: clean });
      log.write(`[${((at - startedAt) / 1000).toFixed(3).padStart(8)}] ${clean}\n`);
    };
    qemu.stdout.on("data", (chunk) => {
      const at = performance.now();
      const parts = (partial + chunk.toString("utf8")).split("\n");
      partial = parts.pop();
      for (const part of parts) take(part, at);
    });
    qemu.stderr.on("data", (chunk) => {
      stderr += chunk.toString("utf8");
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      qemu.kill("SIGKILL");
    }, timeoutMs);
    qemu.on("close", (code, signal) => {
      const exitAt = (performance.now() - startedAt) / 1000;
      clearTimeout(timer);
      if (partial) take(partial, performance.now());
      log.end(`[${exitAt.toFixed(3).padStart(8)}] == qemu exited ${code ?? signal}${timedOut ? " (killed at the lab's timeout)" : ""} ${stderr.trim()}\n`);
      resolve({ code, signal, timedOut, exitAt, lines, stderr: stderr.trim() });
    });
  });
}

/** Markers the guest writes to its serial console: `HBLAB mark NAME`. First arrival of each. */
export function markers(lines) {
  const found = new Map();
  for (const line of lines) {
    const match = /HBLAB mark (\S+)/.exec(line.text);
    if (match && !found.has(match[1])) found.set(match[1], line.at);
  }
  return found;
}

/** The first console line matching `pattern`, with its arrival time. */
export function firstLine(lines, pattern) {
  return lines.find((line) => pattern.test(line.text)) ?? null;
}
