#!/usr/bin/env node
// pnpm lab [SCENARIO…] [--no-doc]: builds (or reuses) the lab image, runs the scenarios one VM at
// a time, prints a table, and — when every scenario ran — writes docs/lab.md.
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ensureImage, cacheDir } from "./image.mjs";
import { writeReport } from "./report.mjs";
import { SCENARIOS } from "./scenarios.mjs";
import { LAB_DIR, LabError, REPO_ROOT, elapsed, run, say } from "./util.mjs";
import { bootVm } from "./vm.mjs";

const USAGE = `usage: pnpm lab [SCENARIO…] [--no-doc]
  SCENARIO: ${SCENARIOS.map((sc) => `${sc.id} (${sc.name})`).join(", ")}; none: all of them.
  Every scenario run writes docs/lab.md unless --no-doc; a subset updates only its own rows.
  Environment: HB_LAB_CACHE (default /var/cache/hb-lab), HB_LAB_MIRROR, HB_LAB_KERNEL.`;

function parseKeyValues(path) {
  const out = {};
  if (!existsSync(path)) return out;
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const eq = line.indexOf("=");
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return out;
}

async function runScenario(scenario, image) {
  const dir = join(cacheDir(), "runs", scenario.name);
  rmSync(dir, { recursive: true, force: true });
  const share = join(dir, "share");
  mkdirSync(join(share, "results"), { recursive: true });
  cpSync(join(LAB_DIR, "guest"), join(share, "guest"), { recursive: true });
  // What a scenario brings into the VM besides the image (scenario 7: hb's packages).
  scenario.prepare?.(share);
  const disk = join(dir, "disk.qcow2");
  run("qemu-img", ["create", "-q", "-f", "qcow2", "-b", image.image, "-F", "raw", disk], { capture: true });
  const boots = [];
  const started = elapsed();
  for (const step of scenario.steps) {
    say(`scenario ${scenario.id}: booting step ${step}`);
    const boot = await bootVm({
      image, disk, share, step,
      serialLog: join(dir, `${step}.serial.log`),
      timeoutMs: (scenario.timeoutSeconds ?? 600) * 1000,
      append: scenario.append?.[step] ?? [],
    });
    boot.results = parseKeyValues(join(share, "results", `${step}.txt`));
    boot.step = step;
    const reached = boot.lines.find((l) => l.text.includes(`HBLAB mark start-${step}`));
    say(`scenario ${scenario.id}: ${step} ended at ${boot.exitAt.toFixed(1)} s (script started at ${reached ? reached.at.toFixed(1) : "?"} s)${boot.timedOut ? ", KILLED at the timeout" : ""}${boot.results.error ? `; guest error: ${boot.results.error}` : ""}`);
    boots.push(boot);
  }
  const ctx = {
    boots,
    json(name) {
      const path = join(share, "results", name);
      if (!existsSync(path)) return null;
      try {
        return JSON.parse(readFileSync(path, "utf8"));
      } catch {
        return null;
      }
    },
  };
  let rows;
  try {
    rows = scenario.evaluate(ctx);
  } catch (error) {
    rows = [{ what: "scenario ran", predicted: "—", measured: String(error.message), tolerance: "—", pass: false }];
  }
  for (const boot of boots) {
    if (boot.results.error) rows.push({ what: `guest step ${boot.step}`, predicted: "no error", measured: boot.results.error, tolerance: "—", pass: false });
  }
  const bootTimes = boots.map((b) => b.lines.find((l) => l.text.includes(`HBLAB mark start-${b.step}`))?.at).filter((t) => t !== undefined);
  return { scenario, rows, seconds: elapsed() - started, bootSeconds: bootTimes, guestKernel: boots[0]?.results.uname ?? image.kernelVersion, dir };
}

async function main(argv) {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  const wanted = argv.filter((a) => !a.startsWith("--"));
  const unknown = wanted.filter((w) => !SCENARIOS.some((sc) => sc.id === w || sc.name === w));
  if (unknown.length > 0) throw new LabError(`unknown scenario ${unknown.join(", ")}\n${USAGE}`);
  const chosen = wanted.length === 0 ? SCENARIOS : SCENARIOS.filter((sc) => wanted.includes(sc.id) || wanted.includes(sc.name));
  const t0 = elapsed();
  const image = ensureImage();
  const imageSeconds = elapsed() - t0;
  say(`image ready in ${imageSeconds.toFixed(1)} s (${Object.entries(image.timings).map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(", ")}): ${image.image}`);
  const results = [];
  for (const scenario of chosen) {
    const result = await runScenario(scenario, image);
    results.push(result);
    for (const row of result.rows) say(`${row.pass ? "PASS" : "FAIL"} ${scenario.id} ${row.what}: measured ${row.measured}; predicted ${row.predicted}`);
  }
  const total = elapsed() - t0;
  const rows = results.flatMap((r) => r.rows);
  const failed = rows.filter((r) => !r.pass).length;
  if (!argv.includes("--no-doc")) writeReport(join(REPO_ROOT, "docs", "lab.md"), { results, image, imageSeconds, total });
  console.log(`lab: ${results.length} scenario(s) in ${total.toFixed(0)} s (image ${imageSeconds.toFixed(0)} s)`);
  console.log(`lab: ${rows.length - failed} of ${rows.length} checks passed${failed ? `, ${failed} FAILED` : ""}`);
  return failed === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`lab: ${error instanceof LabError ? error.message : error?.stack ?? error}`);
    process.exit(2);
  },
);
