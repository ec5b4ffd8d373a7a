// The entry of hb's single executable. One file answers to three invocations:
//   hbd …                              (the file under the name hbd: the daemon)
//   hb …                               (any other name: the CLI)
//   hb [--no-warnings] -e SOURCE …     (the children hb and hbd start as `process.execPath -e SOURCE`:
//                                       the storage worker, the audit writer, the control client)
// The startup snapshot holds this bundle with the agent's entry points (`hb compat …`) evaluated
// and rehearsed (read-path.mjs); every other command is evaluated when it runs, and the daemon
// is a second bundle (the SEA asset hbd.cjs) compiled only when hbd starts. A start deserializes
// the snapshot and calls start() below, so nothing here may read the process (argv, env,
// streams) before it runs.
import { basename } from "node:path";

/** Evaluate a CommonJS script the way `node -e` does, with `require` limited to the builtins. */
function evaluate(source, filename) {
  // The sources hb writes use only builtins; nothing else exists inside the executable.
  const require = (id) => {
    const builtin = process.getBuiltinModule(id);
    if (builtin === undefined) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
    return builtin;
  };
  process.getBuiltinModule("node:vm").runInThisContext(`(function (require) {${source}\n})`, { filename })(require);
}

function start() {
  // In a single executable, argv[1] is the executable again and the arguments follow.
  const args = process.argv.slice(2);
  const quiet = args[0] === "--no-warnings";
  const rest = quiet ? args.slice(1) : args;
  if (rest[0] === "-e" && rest.length >= 2) {
    if (quiet) process.emitWarning = () => {};
    process.argv = [process.execPath, ...rest.slice(2)];
    return evaluate(rest[1], "[eval]");
  }
  if (basename(process.argv0) === "hbd") {
    // hbd recognises its own lock holder by this name in /proc/PID/cmdline.
    process.argv[1] = process.argv0;
    return evaluate(process.getBuiltinModule("node:sea").getAsset("hbd.cjs", "utf8"), "hbd.cjs");
  }
  // A module of the bundle is evaluated on first use, unless the snapshot did it already.
  return import("hb:cli-main").then(({ main }) => main());
}

const { startupSnapshot } = process.getBuiltinModule("node:v8");
if (startupSnapshot.isBuildingSnapshot()) {
  startupSnapshot.setDeserializeMainFunction(start);
  // The snapshot is taken once this settles (Node runs the event loop out first).
  import("./read-path.mjs").then(({ rehearse }) => rehearse());
} else start();
