// hbd's bundle: the executable's asset hbd.cjs, compiled by entry.mjs only when it starts as hbd,
// so the CLI's snapshot carries none of the daemon (pino, prom-client, OpenTelemetry…).
import { main } from "hb:daemon-main";

main();
