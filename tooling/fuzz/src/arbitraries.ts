// Generators of hostile input: structure close enough to the real formats to get past their
// first checks, with garbage (control characters, NUL, huge numbers, lone surrogates,
// `__proto__`) wherever a value goes.
import { PROPERTY_KEYS } from "@hb/config";
import fc from "fast-check";

/** Characters that break parsers, terminals and paths, mixed with ordinary ones. */
const hostileUnit = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom("\0", "\n", "\r", "\t", "\\", "=", ":", " ", "#", "!", "\u001b", "\u001b[31m", "\u0085", "\u2028", "\ufeff", "\uffff", "\ud800", "\x7f", "é", "\\u", "\\u12", "\\uZZZZ", "\\\n", "/", "..", "-", "%s", "${x}", "'", '"', "`") },
  { weight: 5, arbitrary: fc.constantFrom(..."abcxyz019._-") },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 1 }) },
);
export const hostileString = (maxLength = 24) => fc.string({ unit: hostileUnit, maxLength });

/** Numbers as text: ordinary, negative, past every integer and float limit, in other notations. */
export const numberish = fc.oneof(
  fc.integer({ min: -5, max: 120_000 }).map(String),
  fc.constantFrom("0", "-0", "-1", "1e309", "1e3", "0x10", "010", "NaN", "Infinity", "-Infinity", "2147483648", "9007199254740993", "1.5", " 5 ", "5ms", "1_000", "", "+5", "٣"),
  fc.bigInt({ min: 0n, max: 10n ** 400n }).map(String),
  fc.integer({ min: 1, max: 400 }).map((n) => "9".repeat(n)),
);

const pathish = fc.oneof(
  fc.constantFrom("/", "/etc", "/tmp", "/var/lib/hb", "relative/path", "", ".", "..", "/dev/null", "/proc/sysrq-trigger", "-obind,remount", "/a\0b", "/a\nb"),
  hostileString().map((s) => `/${s}`),
);

const propertyKey = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...PROPERTY_KEYS) }, { weight: 1, arbitrary: hostileString() });
const propertyValue = fc.oneof(
  numberish,
  pathish,
  hostileString(40),
  fc.constantFrom("true", "false", "yes", "no", "TRUE", "reboot", "graceful-reboot", "hard-reboot", "restart-agent", "log-only", "shutdown", "none", "storage", "drbd-quorum", "127.0.0.1:8090", "0.0.0.0:80", "[::1]:9", "host:99999"),
);
const separator = fc.constantFrom("=", ":", " ", " = ", "\t", "=\\\n  ", "");
const propertiesLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(propertyKey, separator, propertyValue).map(([k, s, v]) => `${k}${s}${v}`) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom("#", "!", "  #"), hostileString()).map(([c, s]) => `${c}${s}`) },
  { weight: 1, arbitrary: fc.tuple(propertyKey, propertyValue).map(([k, v]) => `${k}=${v}\\`) },
  { weight: 1, arbitrary: hostileString(60) },
  { weight: 1, arbitrary: fc.constant("") },
);
/** An agent.properties text: lines of real and garbage keys and values, any line ending. */
export const propertiesText = fc
  .tuple(fc.array(propertiesLine, { maxLength: 30 }), fc.constantFrom("\n", "\r\n", "\r"))
  .map(([lines, eol]) => lines.join(eol));

export const propertiesInput = fc.record({
  text: propertiesText,
  bytes: fc.option(
    fc.uint8Array({ maxLength: 3000 }).map((bytes) => [...bytes]),
    { nil: undefined, freq: 4 },
  ),
  viaFile: fc.boolean(),
  key: propertyKey,
  value: propertyValue,
});

/** Any JSON value, including the awkward ones (huge and negative numbers, __proto__ keys). */
const jsonish: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, -1, 0, 1.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, "", "__proto__", [], {}),
  hostileString(),
);
/** A field: usually a value of the right kind, sometimes any JSON at all, sometimes absent. */
const field = <T>(good: fc.Arbitrary<T>) => fc.option(fc.oneof({ weight: 3, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: jsonish }), { nil: undefined, freq: 5 });
/** An object built by JSON.parse, so a `__proto__` key is an ordinary own key, as it is on the wire. */
const asParsed = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;
const targetName = fc.oneof(fc.constantFrom("pool", "__proto__", "constructor", "toString", "", "a\u001b[2J", "x\nDECISION y", "hasOwnProperty"), hostileString(12));

const phase = fc.record(
  {
    fromMs: field(fc.oneof(fc.integer({ min: 0, max: 600_000 }), fc.constantFrom(-1, 0.5, 1e21))),
    latencyMs: field(fc.integer({ min: 0, max: 120_000 })),
    hang: field(fc.constant(true)),
    error: field(hostileString()),
    noQuorum: field(fc.constant(true)),
    inconclusive: field(fc.constantFrom("EMFILE", "ENOMEM", "x")),
    impairment: field(hostileString()),
  },
  { requiredKeys: [] },
);
const scenarioObject = fc
  .record(
    {
      durationMs: field(fc.oneof(fc.integer({ min: 1, max: 3_600_000 }), fc.constantFrom(0, -1, 10 * 365 * 86_400_000, 7 * 86_400_000, 7 * 86_400_000 + 1, 1e300, 0.5))),
      properties: field(fc.dictionary(propertyKey, fc.oneof(propertyValue as fc.Arbitrary<unknown>, jsonish), { maxKeys: 6 })),
      targets: field(fc.dictionary(targetName, fc.oneof({ weight: 4, arbitrary: fc.array(phase, { maxLength: 5 }) as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: jsonish }), { maxKeys: 4 })),
      extra: field(jsonish),
    },
    { requiredKeys: [] },
  )
  .map(asParsed);
/** A scenario file's text: mostly scenario-shaped JSON, sometimes cut short or not JSON at all. */
export const scenarioJson = fc.oneof(
  { weight: 6, arbitrary: scenarioObject.map((value) => JSON.stringify(value)) },
  { weight: 1, arbitrary: fc.tuple(scenarioObject, fc.nat()).map(([value, cut]) => { const text = JSON.stringify(value); return text.slice(0, cut % (text.length + 1)); }) },
  { weight: 1, arbitrary: fc.oneof(fc.json({ maxDepth: 3 }), hostileString(60)) },
);
export const scenarioInput = fc.record({ json: scenarioJson, propertiesText, policy: fc.constantFrom("hb" as const, "upstream" as const) });

// drbdsetup: real keys and values, mixed with garbage.
const drbdWord = fc.oneof(
  fc.constantFrom("r0", "Primary", "Secondary", "Unknown", "UpToDate", "Diskless", "Outdated", "Inconsistent", "Connected", "Connecting", "StandAlone", "Established", "SyncSource", "SyncTarget", "yes", "no", "unknown", "0", "1", "100", "99.5", "-", ""),
  numberish,
  hostileString(10),
);
const EVENT_KEYS = ["name", "role", "suspended", "force-io-failures", "may_promote", "promotion_score", "peer-node-id", "conn-name", "connection", "congested", "ap-in-flight", "sync-state", "volume", "minor", "disk", "client", "quorum", "open", "blocked", "replication", "peer-disk", "peer-client", "resync-suspended", "done", "out-of-sync", "other"];
const eventLine = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .tuple(
        fc.option(fc.constantFrom("2026-11-26T18:00:00.123456+00:00", "2026-13-99T99:99:99Z"), { nil: "" }),
        fc.constantFrom("exists", "exists", "change", "create", "destroy", "call"),
        fc.constantFrom("resource", "connection", "device", "peer-device", "path", "helper", "-"),
        fc.array(fc.tuple(fc.constantFrom(...EVENT_KEYS), drbdWord).map(([k, v]) => `${k}:${v}`), { maxLength: 10 }),
      )
      .map(([time, verb, object, fields]) => [time, verb, object, ...fields].filter((part) => part !== "").join(" ")),
  },
  { weight: 1, arbitrary: fc.constantFrom("exists -", "", "   ", "exists") },
  { weight: 1, arbitrary: hostileString(80) },
);
const events2Text = fc.array(eventLine, { maxLength: 25 }).map((lines) => lines.join("\n"));

const statusResource = fc.record(
  {
    name: field(drbdWord),
    role: field(drbdWord),
    suspended: field(fc.boolean()),
    "suspended-quorum": field(fc.boolean()),
    "force-io-failures": field(fc.boolean()),
    devices: field(fc.array(fc.record({ volume: field(fc.nat(3)), minor: field(fc.nat()), "disk-state": field(drbdWord), client: field(fc.boolean()), quorum: field(fc.boolean()), open: field(fc.boolean()) }, { requiredKeys: [] }), { maxLength: 3 })),
    connections: field(
      fc.array(
        fc.record(
          {
            "peer-node-id": field(fc.nat(3)),
            name: field(drbdWord),
            "connection-state": field(drbdWord),
            congested: field(fc.boolean()),
            "peer-role": field(drbdWord),
            "ap-in-flight": field(fc.integer({ min: -1, max: 1000 })),
            peer_devices: field(fc.array(fc.record({ volume: field(fc.nat(3)), "replication-state": field(drbdWord), "peer-disk-state": field(drbdWord), "peer-client": field(fc.boolean()), "resync-suspended": field(drbdWord), "out-of-sync": field(fc.integer({ min: -1, max: 1 << 30 })), "percent-resync-done": field(fc.double()) }, { requiredKeys: [] }), { maxLength: 3 })),
          },
          { requiredKeys: [] },
        ),
        { maxLength: 3 },
      ),
    ),
  },
  { requiredKeys: [] },
);
const showResource = fc.record(
  {
    resource: field(drbdWord),
    options: field(fc.record({ quorum: field(drbdWord), "on-no-quorum": field(drbdWord), "on-no-data-accessible": field(drbdWord), "on-suspended-primary-outdated": field(drbdWord) }, { requiredKeys: [] })),
    connections: field(fc.array(fc.record({ _peer_node_id: field(fc.integer({ min: -1, max: 4 })), net: field(fc.record({ _name: field(drbdWord), "allow-two-primaries": field(fc.constantFrom(true, false, "yes", "no", "maybe")), fencing: field(drbdWord) }, { requiredKeys: [] })) }, { requiredKeys: [] }), { maxLength: 3 })),
  },
  { requiredKeys: [] },
);
/** JSON text of a list of records: sometimes cut, sometimes not a list, sometimes not JSON. */
const jsonText = (record: fc.Arbitrary<unknown>) =>
  fc.oneof(
    { weight: 6, arbitrary: fc.array(record, { maxLength: 4 }).map((list) => JSON.stringify(asParsed(list))) },
    { weight: 1, arbitrary: fc.tuple(fc.array(record, { maxLength: 3 }), fc.nat()).map(([list, cut]) => JSON.stringify(list).slice(0, cut)) },
    { weight: 1, arbitrary: fc.oneof(fc.json({ maxDepth: 2 }), hostileString(40)) },
  );
export const statusJsonText = jsonText(statusResource);
export const showJsonText = jsonText(showResource);
export const drbdInput = fc.oneof(
  events2Text.map((text) => ({ format: "events2" as const, text })),
  statusJsonText.map((text) => ({ format: "status-json" as const, text })),
  showJsonText.map((text) => ({ format: "show-json" as const, text })),
);
export const drbdOutputs = { events2Text, statusJsonText, showJsonText };

// hbd's status document (apps/daemon), field by field, each sometimes of the wrong kind or null.
const isoTime = fc.oneof(fc.constantFrom("2026-11-30T08:00:00.000Z", "", "x", "2026"), hostileString(12));
const daemonTarget = fc.record(
  {
    id: field(targetName),
    kind: field(fc.constantFrom("nfs", "linstor", "other")),
    mountPoint: field(fc.constantFrom("/mnt/pool", "/mnt/pool/", "//mnt//pool", "/")),
    state: field(fc.constantFrom("healthy", "degraded", "slow", "failing", "no-quorum", "dead", "inconclusive", null)),
    armed: field(fc.boolean()),
    lastGoodAt: field(isoTime),
    lastGoodAgeMs: field(fc.oneof(fc.nat(), fc.constantFrom(-1, 1e308, null))),
    consecutiveFailures: field(fc.nat(9)),
    latencyMs: field(fc.record({ p99: field(fc.oneof(fc.double(), fc.constant(null))) }, { requiredKeys: [] })),
    decisionAtTheLatest: field(isoTime),
    lastChange: field(fc.oneof(fc.constant(null), fc.record({ reason: field(hostileString()) }, { requiredKeys: [] }))),
  },
  { requiredKeys: [] },
);
export const hbdDocument = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .record(
        {
          version: field(fc.constantFrom("0.1.0", "")),
          action: field(fc.constantFrom("reboot", "log-only")),
          fences: field(fc.boolean()),
          dryRun: field(fc.boolean()),
          healthy: field(fc.boolean()),
          maintenance: field(fc.oneof(fc.constant(null), fc.record({ until: field(isoTime) }, { requiredKeys: [] }))),
          watchdog: field(fc.record({ mode: field(fc.constantFrom("off", "arm")), armed: field(fc.boolean()) }, { requiredKeys: [] })),
          stuckChildren: field(fc.nat()),
          eventLoopLagP99Ms: field(fc.double()),
          decisions: field(fc.array(fc.record({ at: field(isoTime), target: field(targetName), action: field(fc.constantFrom("reboot")), isFence: field(fc.boolean()), mode: field(fc.constantFrom("act", "dry-run")) }, { requiredKeys: [] }), { maxLength: 3 })),
          vetoes: field(fc.record({ total: field(fc.nat()), vetoed: field(fc.nat()), deferred: field(fc.nat()) }, { requiredKeys: [] })),
          targets: field(fc.array(fc.oneof({ weight: 4, arbitrary: daemonTarget as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: jsonish }), { maxLength: 4 })),
          statusEndpoint: field(fc.record({ listen: field(fc.constantFrom("127.0.0.1:8090")), bound: field(fc.boolean()), error: field(hostileString()) }, { requiredKeys: [] })),
          config: field(fc.record({ path: field(hostileString()), stale: field(fc.oneof(fc.constant(null), fc.record({ since: field(isoTime), reason: field(hostileString()) }, { requiredKeys: [] }))) }, { requiredKeys: [] })),
        },
        { requiredKeys: [] },
      )
      .map(asParsed),
  },
  { weight: 1, arbitrary: jsonish },
);
export const hbdInput = fc.record({ document: hbdDocument, storage: fc.constantFrom("/mnt/pool", "/mnt/pool/", "/", "shared-block") });
