// A program outside hb's repository that uses two of its libraries as published: the agent's
// settings and timing from @hb/config, a DRBD host verdict from @hb/storage-drbd.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveTiming, loadConfig, type LoadedConfig, type TimingModel } from "@hb/config";
import { classifyHost, parseStatusJson, type HostVerdict } from "@hb/storage-drbd";

const folder = mkdtempSync(join(tmpdir(), "hb-consumer-"));
const properties = join(folder, "agent.properties");
writeFileSync(properties, "heartbeat.update.timeout=30000\nkvm.heartbeat.fence.action=graceful-reboot\n");

const loaded: LoadedConfig = await loadConfig(properties);
const timing: TimingModel = deriveTiming(loaded.values);
rmSync(folder, { recursive: true, force: true });

const status = readFileSync(new URL("../quorum-lost.status.json", import.meta.url), "utf8");
const host: HostVerdict = classifyHost(parseStatusJson(status));

const source = loaded.sources["heartbeat.update.timeout"];
console.log(`heartbeat.update.timeout: ${loaded.values["heartbeat.update.timeout"]} ms (${source.kind === "file" ? `line ${source.line}` : "default"})`);
console.log(`fence action: ${timing.fenceAction} (fences: ${timing.fences}); decision at the latest ${timing.decisionLatestMs} ms after the last good write`);
console.log(`drbd: ${host.verdict}${host.quorumLost ? " (quorum lost)" : ""}`);
if (loaded.problems.length > 0 || host.verdict !== "lost" || timing.fenceAction !== "graceful-reboot") process.exit(1);
