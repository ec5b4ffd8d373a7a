import { spawn } from "node:child_process";

/** find(1), bounded: a folder on a hung filesystem must not hold the test forever. */
export function find(args: readonly string[], boundMs = 60_000): Promise<string[]> {
  return new Promise((resolve, reject) => {
    let found = "";
    const child = spawn("find", args, { stdio: ["ignore", "pipe", "ignore"] });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`find did not finish within ${boundMs} ms: the check could not be made`));
    }, boundMs);
    child.stdout.on("data", (chunk: Buffer) => void (found += chunk.toString()));
    child.on("error", reject);
    // find exits 1 when some entries vanish or cannot be read: what it printed stands.
    child.on("close", () => {
      clearTimeout(timer);
      resolve(found.split("\n").filter((line) => line !== ""));
    });
  });
}

