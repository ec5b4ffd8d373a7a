// The main script of hb's single executable: small, so that a start compiles almost nothing before
// it knows what it was asked. One file answers to four invocations:
//   hb --version | -V                  (printed here: nothing else is loaded)
//   hbd …                              (the file under the name hbd: the daemon, asset hbd.cjs)
//   hb …                               (any other name: the CLI, asset hb.cjs)
//   hb [--no-warnings] -e SOURCE …     (the children hb and hbd start as `process.execPath -e SOURCE`:
//                                       the storage worker, the audit writer, the control client)
// hb.cjs comes with a V8 code cache (asset hb.cache) made at build time by the same Node after a
// rehearsed neighbour read (code-cache.cjs), so the agent's entry points start compiled. No
// startup snapshot: deserializing one costs more than a start of plain Node.
"use strict";
const VERSION = "__HB_VERSION__";

/** The sources hb writes and bundles use only builtins; nothing else exists inside the executable. */
function builtin(id) {
  const module = process.getBuiltinModule(id);
  if (module === undefined) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
  return module;
}

/** Run a script whose source is `(function (require) {…})`, from its code cache when one is given. */
function evaluate(source, filename, cachedData) {
  const { Script } = builtin("node:vm");
  const script = new Script(source, { filename, ...(cachedData === undefined || cachedData.byteLength === 0 ? {} : { cachedData }) });
  script.runInThisContext()(builtin);
}

function start() {
  // In a single executable, argv[1] is the executable again and the arguments follow.
  const args = process.argv.slice(2);
  const quiet = args[0] === "--no-warnings";
  const rest = quiet ? args.slice(1) : args;
  if (rest[0] === "-e" && rest.length >= 2) {
    if (quiet) process.emitWarning = () => {};
    process.argv = [process.execPath, ...rest.slice(2)];
    return evaluate(`(function (require) {${rest[1]}\n})`, "[eval]");
  }
  const sea = builtin("node:sea");
  if (builtin("node:path").basename(process.argv0) === "hbd") {
    // hbd recognises its own lock holder by this name in /proc/PID/cmdline.
    process.argv[1] = process.argv0;
    return evaluate(sea.getAsset("hbd.cjs", "utf8"), "hbd.cjs");
  }
  // As the CLI answers it (cli.ts parseTopLevel): the first word alone decides.
  if (args[0] === "--version" || args[0] === "-V") return void process.stdout.write(`hb ${VERSION}\n`);
  return evaluate(sea.getAsset("hb.cjs", "utf8"), "hb.cjs", Buffer.from(sea.getAsset("hb.cache")));
}

start();
