// Composition root of `hbd`: the only place that reads the environment, handles signals and
// builds the real adapters.
import packageJson from "../package.json" with { type: "json" };
import { parseDaemonArgs, USAGE } from "./run.js";

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
  // Signal handlers before anything else: Node's default for SIGHUP is to exit, and the
  // service manager may send one (a reload) while hbd is still loading or starting. Signals
  // that come before the daemon runs are kept and acted on once it does.
  const early: string[] = [];
  let onSignal: (signal: string) => void = (signal) => void early.push(signal);
  // `on`, not `once`: with no listener left, a second signal would take Node's default (exit at
  // once) and cut hbd's clean stop half way. A second signal changes nothing.
  for (const signal of ["SIGHUP", "SIGTERM", "SIGINT"] as const) process.on(signal, () => onSignal(signal));

  const [{ DEFAULT_AGENT_PROPERTIES, daemonSettings, loadConfig }, { ipv4AddressOf, readBootId, SystemClock }, { default: pino }, { Daemon }, { discoverLibvirtPools }, { chooseStorageWorker, eventLoopLag, hbdExecutor, lagResolutionMs, hbdFactories, lastFenceRecord, isHbdProcess, storageWorkerCandidates }, { lagThresholdMs }] = await Promise.all([
    import("@hb/config"),
    import("@hb/core"),
    import("pino"),
    import("./daemon.js"),
    import("./pools.js"),
    import("./wiring.js"),
    import("./supervisor.js"),
  ]);
  const propertiesPath = command.file ?? (process.env.AGENT_PROPS || DEFAULT_AGENT_PROPERTIES);
  // The executor's stuck-child cap and the storage worker come from the file as it is at start (the daemon reports its problems).
  const atStart = (await loadConfig(propertiesPath)).values;
  const settingsAtStart = daemonSettings(atStart);
  const executor = hbdExecutor(atStart);
  const worker = chooseStorageWorker(settingsAtStart.storageWorker, storageWorkerCandidates(), process.getuid?.() ?? 0);
  const clock = new SystemClock();
  const log = pino({ level: command.logLevel, base: { svc: "hbd" }, redact: { paths: ["*.passphrase", "*.password"], censor: "[redacted]" } });
  log[worker.refused ? "warn" : "info"]({ storageWorker: worker.path ?? "node" }, `storage worker: ${worker.note}`);
  const factories = hbdFactories({
    executor,
    clock,
    version: packageJson.version,
    heldWatchdog: () => daemon.heldWatchdogBackstop(),
    ...(worker.path === undefined ? {} : { storageWorker: worker.path }),
  });
  const daemon = new Daemon(
    { propertiesPath },
    {
      executor,
      clock,
      log,
      env: { AGENT_PROPS: process.env.AGENT_PROPS, WATCHDOG_USEC: process.env.WATCHDOG_USEC },
      pid: process.pid,
      isHbd: (pid) => isHbdProcess(pid, process.argv[1]),
      bootId: readBootId(),
      uid: process.getuid?.() ?? 0,
      addressOf: ipv4AddressOf,
      // Sampled for the threshold of the timeout hbd starts with.
      lag: eventLoopLag(lagResolutionMs(lagThresholdMs(settingsAtStart.attemptTimeoutMs))),
      ...factories,
      discoverPools: (config, knownSmp) => {
        const settings = daemonSettings(config);
        return discoverLibvirtPools(executor, settings.stepTimeoutMs, { mountsFile: settings.mountsFile, knownSmp });
      },
      lastFenceRecord,
      stderr: (text) => process.stderr.write(text),
      sysClassWatchdog: "/sys/class/watchdog",
      version: packageJson.version,
    },
  );
  let started = false;
  let stopping = false;
  const reload = () => void daemon.reload().catch((error: unknown) => log.error({ err: String(error) }, "reload failed; the previous configuration stays"));
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    void daemon.stop().then(() => process.exit(0));
  };
  onSignal = (signal) => {
    if (started) return signal === "SIGHUP" ? reload() : stop(signal);
    log.warn({ signal }, `${signal} during start-up: acted on once hbd runs`);
    early.push(signal);
  };
  for (const signal of early.splice(0)) onSignal(signal);
  try {
    await daemon.start();
  } catch (error) {
    log.fatal({ err: error instanceof Error ? error.message : String(error) }, "hbd could not start");
    process.exit(1);
  }
  started = true;
  const pending = early.splice(0);
  const stopSignal = pending.find((signal) => signal !== "SIGHUP");
  if (stopSignal !== undefined) stop(stopSignal);
  else if (pending.length > 0) reload();
}
