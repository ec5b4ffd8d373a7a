// Upstream's scripts as the agent calls them: getopts specs and usage texts, shared by `hb compat`
// and the entry points themselves.
/** kvmsmpheartbeat.sh's help(), on stdout before exit 1. */
const SMP_USAGE = [
  "Usage: kvmsmpheartbeat.sh",
  "                -i identifier (required for CLI compatibility; value ignored by local-only heartbeat)",
  "                -p path (required for CLI compatibility; value ignored by local-only heartbeat)",
  "                -m mount point (local path where heartbeat will be written)",
  "                -h host (host IP/name to include in heartbeat filename)",
  "                -r write/read hb log (read-check mode)",
  "                -c cleanup (trigger emergency reboot)",
  "                -t interval between read hb log",
  "",
].join("\n");

/**
 * Drop-in entry points for upstream's scripts, called by the agent by file name and judged by
 * exit status and the first line of output: each speaks exactly as its script does. The flags
 * are upstream's getopts specs.
 */
export const SCRIPTS = {
  kvmheartbeat: { spec: "i:p:m:h:t:rc", usage: "Usage: kvmheartbeat.sh -i nfs server ip -p nfs server path -m mount point -h host -r write/read hb log -c cleanup -t interval between read hb log\n" },
  kvmspheartbeat: { spec: "c", usage: "Usage: kvmspheartbeat.sh -c\n" },
  kvmvmactivity: { spec: "i:p:m:u:t:h:d:", usage: "Usage: kvmvmactivity.sh -i nfs server ip -p nfs server path -m mount point -h host -u volume uuid list -t time on ms -d suspect time\n" },
  kvmsmpheartbeat: { spec: "i:p:m:h:t:rc", usage: SMP_USAGE },
  // Not a script: fence_action of hb's shim of kvmha-fence.sh (the sourced helper).
  "kvmha-fence": { spec: "m:", usage: "usage: hb compat kvmha-fence [-m MOUNT] [SOURCE]\n" },
} as const;
export type ScriptName = keyof typeof SCRIPTS;
