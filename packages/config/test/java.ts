import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const program = fileURLToPath(new URL("./JavaProperties.java", import.meta.url));

/** Whether a JDK is on PATH (Java 17 is on these machines; elsewhere the live checks skip). */
export async function javaAvailable(): Promise<boolean> {
  try {
    await run("java", ["-version"]);
    return true;
  } catch {
    return false;
  }
}

/** What java.util.Properties.load(InputStream) reads from a file. */
export async function javaRead(file: string): Promise<Record<string, string>> {
  const { stdout } = await run("java", [program, file], { timeout: 60_000 });
  return JSON.parse(stdout) as Record<string, string>;
}
