export { makeTempDir, type TempDir } from "./temp-dir.js";
