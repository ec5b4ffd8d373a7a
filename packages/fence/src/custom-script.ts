import { accessSync, constants, realpathSync, statSync, type Stats } from "node:fs";
import { dirname } from "node:path";

/** Why the custom script is not run: each is a fallback to reboot, recorded with its reason. */
export type ScriptRefusal = "missing" | "not-a-file" | "not-executable" | "owner" | "writable" | "folder";

export type ScriptCheck = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly refusal: ScriptRefusal; readonly detail: string };

const octal = (mode: number) => `0${(mode & 0o7777).toString(8)}`;

function ownerProblem(info: Stats, trustedUid: number): string | undefined {
  if (info.uid !== 0 && info.uid !== trustedUid) return `is owned by uid ${info.uid}, not by root${trustedUid === 0 ? "" : ` or uid ${trustedUid}`}`;
  if ((info.mode & 0o022) !== 0) return `is writable by ${(info.mode & 0o002) !== 0 ? "others" : "its group"} (mode ${octal(info.mode)})`;
  return undefined;
}

/**
 * Whether the custom script may run as root: a regular, executable file that only root (or the
 * uid hb runs as) owns and may write, in a folder of the same kind (else whoever may write the
 * folder can swap the file between this check and the run). Links are resolved first and the
 * real file and its folder are checked. A stat, never a read: the script is local (/etc).
 */
export function checkCustomScript(path: string, trustedUid: number): ScriptCheck {
  let real: string;
  let info: Stats;
  try {
    real = realpathSync(path);
    info = statSync(real);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return { ok: false, refusal: "missing", detail: code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (error as Error).message})` };
  }
  const shown = real === path ? "" : ` (${real})`;
  if (!info.isFile()) return { ok: false, refusal: "not-a-file", detail: `is not a regular file${shown}` };
  const owner = ownerProblem(info, trustedUid);
  if (owner !== undefined) return { ok: false, refusal: owner.startsWith("is owned") ? "owner" : "writable", detail: `${owner}${shown}` };
  try {
    if ((info.mode & 0o111) === 0) throw new Error("no execute bit");
    accessSync(real, constants.X_OK);
  } catch {
    return { ok: false, refusal: "not-executable", detail: `is not executable (mode ${octal(info.mode)})${shown}` };
  }
  const folder = dirname(real);
  let folderInfo: Stats;
  try {
    folderInfo = statSync(folder);
  } catch (error) {
    return { ok: false, refusal: "folder", detail: `is in ${folder}, which cannot be read (${(error as NodeJS.ErrnoException).code ?? "?"})` };
  }
  const folderOwner = ownerProblem(folderInfo, trustedUid);
  if (folderOwner !== undefined) return { ok: false, refusal: "folder", detail: `is in ${folder}, which ${folderOwner}: anyone who may write it can replace the script` };
  return { ok: true, path: real };
}
