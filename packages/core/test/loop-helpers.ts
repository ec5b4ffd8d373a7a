import { parseProperties, resolveConfig, type HeartbeatConfig } from "@hb/config";
import type { FenceDecision } from "../src/index.js";

export const configOf = (text: string): HeartbeatConfig => resolveConfig(parseProperties(text)).values;

/** A fence that records each decision it is handed and acts on none. */
export function recordingFence(config: HeartbeatConfig) {
  const decisions: FenceDecision[] = [];
  return { decisions, fence: { name: config["kvm.heartbeat.fence.action"], execute: async (d: FenceDecision) => (decisions.push(d), { action: d.action, outcome: "recorded", acted: false }) } };
}
