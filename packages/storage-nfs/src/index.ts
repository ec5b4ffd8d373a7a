export { heartbeatFilePath, validateHostId, InvalidHostIdError } from "./paths.js";
