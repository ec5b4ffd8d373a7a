// hbd's bundle: the executable's asset hbd.cjs, run by main.cjs only when it starts as hbd,
// so the CLI's bundle and code cache carry none of the daemon (pino, prom-client, OpenTelemetry…).
import { main } from "hb:daemon-main";

main();
