import { chmod, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/**
 * A fake `virsh` for hbd's libvirt discovery: `pool-list --name` prints the pools written with
 * `setPools`, `pool-dumpxml NAME` a netfs pool whose target is the given mount point. With
 * `slow(seconds)` each call first touches `started` and sleeps (a slow libvirt at start-up).
 */
export async function makeFakeVirsh(dir: string): Promise<{ dir: string; started: string; setPools(pools: Record<string, string>): Promise<void>; slow(seconds: number): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const script = join(dir, "virsh");
  await writeFile(
    script,
    `#!/bin/sh
dir=$(dirname "$0")
if [ -f "$dir/slow" ]; then touch "$dir/started"; sleep "$(cat "$dir/slow")"; fi
case "$3" in
  pool-list) cat "$dir/pools" ;;
  pool-dumpxml) cat "$dir/$4.xml" ;;
  *) exit 1 ;;
esac
`,
  );
  await chmod(script, 0o755);
  await writeFile(join(dir, "pools"), "");
  return {
    dir,
    started: join(dir, "started"),
    setPools: async (pools) => {
      for (const [name, mountPoint] of Object.entries(pools)) {
        await writeFile(
          join(dir, `${name}.xml`),
          `<pool type='netfs'><name>${name}</name><uuid>${name}</uuid><source><host name='10.0.0.2'/><dir path='/export/${name}'/><format type='nfs'/></source><target><path>${mountPoint}</path></target></pool>\n`,
        );
      }
      await writeFile(join(dir, "pools"), Object.keys(pools).map((name) => `${name}\n`).join(""));
    },
    slow: (seconds) => writeFile(join(dir, "slow"), String(seconds)),
  };
}
