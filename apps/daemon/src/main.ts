// Composition root of `hbd`: the only place that reads the environment, handles signals and
// builds the real adapters.
import { DEFAULT_AGENT_PROPERTIES, type HeartbeatConfig } from "@hb/config";
import { ipv4AddressOf, ProcessExecutor, SystemClock } from "@hb/core";
import pino from "pino";
import packageJson from "../package.json" with { type: "json" };
import { Daemon } from "./daemon.js";
import { discoverLibvirtPools } from "./pools.js";
import { parseDaemonArgs, USAGE } from "./run.js";
import { hbdFactories, lastFenceRecord } from "./wiring.js";

const command = parseDaemonArgs(process.argv.slice(2));
if (command.kind === "help") {
  process.stdout.write(USAGE);
} else if (command.kind === "version") {
  process.stdout.write(`hbd ${packageJson.version}\n`);
} else if (command.kind === "usage-error") {
  process.stderr.write(`hbd: ${command.message} (see hbd --help)\n`);
  process.exitCode = 2;
} else if (command.demo) {
  const { runDemo } = await import("./demo.js");
  process.exitCode = await runDemo({ version: packageJson.version, stdout: (text: string) => void process.stdout.write(text) });
} else {
  const executor = new ProcessExecutor();
  const clock = new SystemClock();
  const log = pino({ level: command.logLevel, base: { svc: "hbd" }, redact: { paths: ["*.passphrase", "*.password"], censor: "[redacted]" } });
  const factories = hbdFactories({ executor, clock, version: packageJson.version, heldWatchdog: () => daemon.heldWatchdogBackstop() });
  const daemon: Daemon = new Daemon(
    { propertiesPath: command.file ?? (process.env.AGENT_PROPS || DEFAULT_AGENT_PROPERTIES) },
    {
      executor,
      clock,
      log,
      env: { AGENT_PROPS: process.env.AGENT_PROPS, WATCHDOG_USEC: process.env.WATCHDOG_USEC },
      pid: process.pid,
      isAlive: (pid) => {
        try {
          process.kill(pid, 0);
          return true;
        } catch (error) {
          return (error as NodeJS.ErrnoException).code === "EPERM";
        }
      },
      addressOf: ipv4AddressOf,
      ...factories,
      discoverPools: (config: HeartbeatConfig) => discoverLibvirtPools(executor, config["hb.fence.step.timeout"]),
      lastFenceRecord,
      stderr: (text) => process.stderr.write(text),
      sysClassWatchdog: "/sys/class/watchdog",
      version: packageJson.version,
    },
  );
  try {
    await daemon.start();
  } catch (error) {
    log.fatal({ err: error instanceof Error ? error.message : String(error) }, "hbd could not start");
    process.exit(1);
  }
  process.on("SIGHUP", () => void daemon.reload().catch((error: unknown) => log.error({ err: String(error) }, "reload failed; the previous configuration stays")));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    void daemon.stop().then(() => process.exit(0));
  };
  // `on`, not `once`: execa's exit hook re-raises a signal that no other listener handles,
  // which would kill hbd half way through its clean stop. A second signal changes nothing.
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

