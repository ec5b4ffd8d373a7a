// The CLI's fence fakes with hb.fence.step.timeout at its default, 2 s, instead of 0.3 s: the fence record
// and hbd's answer each come from a child process (a hung state folder must not pin the process
// that fences), and a Node start on a loaded test machine can take a few hundred ms.
import { readFile, writeFile } from "node:fs/promises";
import { fenceHost, type FenceHost } from "./fence-fakes.js";

export const STEP_MS = 2000;

export async function roomyFenceHost(behaviours: Parameters<typeof fenceHost>[0] = {}): Promise<FenceHost> {
  const host = await fenceHost(behaviours);
  const roomy: FenceHost = {
    ...host,
    async writeProperties(lines = []) {
      await host.writeProperties(lines);
      // The same line, so that line numbers in notices stay as the tests expect them.
      await writeFile(host.properties, (await readFile(host.properties, "utf8")).replace("hb.fence.step.timeout=300", `hb.fence.step.timeout=${STEP_MS}`));
    },
  };
  await roomy.writeProperties();
  return roomy;
}
