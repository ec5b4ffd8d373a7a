// The production adapters alone, for callers that must start fast (no schemas loaded).
export { SystemClock } from "./system-clock.js";
export { DEFAULT_MAX_OUTPUT_BYTES, ProcessExecutor, type ProcessExecutorOptions } from "./process-executor.js";
export { FileExecutor, type FileExecutorOptions } from "./file-executor.js";
export { OWN_FAULT_CODES, isOwnFaultCode, type OwnFaultCode } from "../own-fault.js";
export { readBootId, ipv4AddressOf, BOOT_ID_FILE } from "./host.js";
export { printable } from "../printable.js";
