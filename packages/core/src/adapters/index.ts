// The production adapters alone, for callers that must start fast (no schemas loaded).
export { SystemClock } from "./system-clock.js";
export { ProcessExecutor } from "./process-executor.js";
export { readBootId, ipv4AddressOf, BOOT_ID_FILE } from "./host.js";
