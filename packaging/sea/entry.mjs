// The entry of hb's single executable. One file answers to three invocations:
//   hbd …                              (the file under the name hbd: the daemon)
//   hb …                               (any other name: the CLI)
//   hb [--no-warnings] -e SOURCE …     (the children hb and hbd start as `process.execPath -e SOURCE`:
//                                       the storage worker, the audit writer, the control client)
// The bundle is evaluated once, when the startup snapshot is built; each start only
// deserializes it and calls start() below, so nothing here may read the process (argv, env,
// streams) before start() runs.
import { basename } from "node:path";
import { startupSnapshot } from "node:v8";
import { runInThisContext } from "node:vm";
import { main as hbMain } from "hb:cli-main";
import { main as hbdMain } from "hb:daemon-main";
import "hb:warm";

/** `node -e SOURCE ARGS…` as Node runs it: CommonJS `require` of the builtins, argv after the source. */
function runSource(source, args, quiet) {
  // The sources hb writes use only builtins; nothing else exists inside the executable.
  const require = (id) => {
    const builtin = process.getBuiltinModule(id);
    if (builtin === undefined) throw Object.assign(new Error(`Cannot find module '${id}'`), { code: "MODULE_NOT_FOUND" });
    return builtin;
  };
  if (quiet) process.emitWarning = () => {};
  process.argv = [process.execPath, ...args];
  runInThisContext(`(function (require) {${source}\n})`, { filename: "[eval]" })(require);
}

function start() {
  // In a single executable, argv[1] is the executable again and the arguments follow.
  const args = process.argv.slice(2);
  const quiet = args[0] === "--no-warnings";
  const rest = quiet ? args.slice(1) : args;
  if (rest[0] === "-e" && rest.length >= 2) return runSource(rest[1], rest.slice(2), quiet);
  if (basename(process.argv0) === "hbd") {
    // hbd recognises its own lock holder by this name in /proc/PID/cmdline.
    process.argv[1] = process.argv0;
    return hbdMain();
  }
  return hbMain();
}

if (startupSnapshot.isBuildingSnapshot()) startupSnapshot.setDeserializeMainFunction(start);
else start();
