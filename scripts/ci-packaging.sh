#!/bin/bash
# hb as an operator installs it, checked end to end (as root, on a dpkg system):
#   1. `pnpm release` for linux-x64: the executable, the storage worker, the .deb and the .rpm; the
#      .rpm's files are the .deb's; the worker for linux-arm64 cross-compiled and checked unrun;
#   2. dpkg -i: hbd not enabled, the static worker (musl, not glibc) beside the executable, the man
#      pages, completion and licenses in place; then, from /usr/bin with no Node anywhere (node
#      bind-mounted over with /dev/null): hb --version, a real heartbeat written and read, hb fence
#      --dry-run, hb shims install/uninstall --divert round trip on a temporary agent folder, hb
#      doctor on it, an upgrade to the next version, hbd --demo (with the package's storage worker);
#   3. dpkg -r: no file of the package left, the temporary folder's scripts restored, no diversion left,
#      agent.properties as it was;
#   4. every @hb library packs and passes publint and attw; examples/consumer installs and runs.
# Prints one "N passed, N failed" line; exits 1 on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
passed=0
failed=0
check() { # check NAME COMMAND...: runs it, counts it, shows its output only on failure
  local name=$1 out
  shift
  if out=$("$@" 2>&1); then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    printf '%s\n' "$out" | tail -30 | sed 's/^/     /'
  fi
}
finish() {
  echo "packaging: $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
  exit $?
}

if [ "$(id -u)" -ne 0 ] || ! command -v dpkg >/dev/null; then
  echo "packaging: needs root on a dpkg system; nothing checked"
  exit 1
fi
# What this needs beyond a Debian base system: rpmbuild (Debian's rpm), man's own formatter, the
# storage worker's compilers (gcc, and the aarch64 cross-compiler for linux-arm64) and the musl it
# is linked with (musl-dev carries the specs file; arm64's is a foreign architecture's package).
if ! command -v rpmbuild >/dev/null || ! command -v man >/dev/null || ! command -v cc >/dev/null || ! command -v aarch64-linux-gnu-gcc >/dev/null || [ ! -e /usr/lib/x86_64-linux-musl/musl-gcc.specs ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rpm man-db gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross musl-tools musl-dev >/dev/null
fi
if [ ! -e /usr/lib/aarch64-linux-musl/musl-gcc.specs ]; then
  dpkg --add-architecture arm64 && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends musl-dev:arm64 >/dev/null
fi

version=$(node -p 'require("./apps/cli/package.json").version')
deb=packaging/dist/hb_${version}_amd64.deb
rpm=packaging/dist/hb-${version}-1.x86_64.rpm
# --no-release: check the packages packaging/dist/ has already.
[ "${1:-}" = --no-release ] || check "pnpm release (linux-x64): executable, .deb, .rpm" node scripts/setup.mjs --quiet -- node scripts/release.mjs --arch x64
[ -f "$deb" ] && [ -f "$rpm" ] || finish

deb_files() { dpkg-deb -c "$deb" | awk '$1 !~ /^d/ { print $6 }' | sed 's|^\.||' | sort; }
rpm_files() { rpm -qp --qf '[%{FILEMODES:perms} %{FILENAMES}\n]' "$rpm" | awk '$1 !~ /^d/ { print $2 }' | sort; }
check "the .rpm's files are the .deb's" diff <(deb_files) <(rpm_files)
worker=/usr/lib/hb/hb-storage-worker
# checkWorker: from the ELF headers, the architecture and no program interpreter (static). (The
# module last: as argv[1] it would take itself for the command line.)
static_worker() { node --input-type=module -e 'const { checkWorker } = await import(process.argv[3]); checkWorker(process.argv[1], process.argv[2]);' "$1" "$2" "$repo/packaging/build-packages.mjs"; }
# Linked with musl, not glibc (90 KiB of memory per worker, not 670): glibc's static start-up
# leaves its symbol versions' names (GLIBC_PRIVATE, GLIBC_TUNABLES) in even a stripped binary and
# makes it 650-810 KiB; musl's leaves neither (87 KiB for x86-64, 130 KiB for AArch64).
musl_worker() {
  local size
  size=$(stat -c %s "$1") || return 1
  if grep -q GLIBC_ "$1"; then echo "$1: has GLIBC_ strings: linked with glibc, not musl"; return 1; fi
  [ "$size" -lt $((300 * 1024)) ] || { echo "$1: $size bytes, not under 300 KiB: not musl's static start-up"; return 1; }
}
rpm_worker() {
  local list
  list=$(rpm -qp --qf '[%{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$rpm") || return 1
  grep -qx -- "-rwxr-xr-x root:root $worker" <<<"$list" || { grep -- "$worker" <<<"$list"; echo "the .rpm has no $worker, 0755 root:root"; return 1; }
}
check "  the .rpm has $worker (0755, root)" rpm_worker
# CI builds linux-x64 only: the linux-arm64 worker is compiled here as release would, and checked unrun.
arm64_worker() {
  local out=$work/hb-storage-worker-linux-arm64
  node packages/storage-nfs/native/build.mjs --arch arm64 --libc musl --out "$out" && static_worker "$out" arm64 && musl_worker "$out"
}

# A temporary agent: its script folder (upstream's three scripts), a pool in a mount table, a state folder.
work=$(mktemp -d /tmp/hb-ci-packaging.XXXXXX)
trap 'rm -rf "$work"' EXIT
agent=$work/kvm
mkdir -p "$agent" "$work/pool/KVMHA" "$work/state"
for name in kvmheartbeat.sh kvmspheartbeat.sh kvmvmactivity.sh; do
  printf '#!/bin/bash\n# upstream %s\nexit 0\n' "$name" >"$agent/$name"
  chmod 755 "$agent/$name"
done
cp -a "$agent" "$work/kvm.before"
echo "10.0.0.2:/export $work/pool nfs rw 0 0" >"$work/mounts"
printf 'hb.mounts.file=%s\nhb.state.dir=%s\n' "$work/mounts" "$work/state" >"$work/agent.properties"

# agent.properties is the operator's: no package script may touch it. A stand-in where there is none.
props=/etc/cloudstack/agent/agent.properties
if [ ! -e "$props" ]; then
  made=$props
  for dir in /etc/cloudstack /etc/cloudstack/agent; do [ -d "$dir" ] || { made=$dir; break; }; done
  mkdir -p "${props%/*}"
  printf '# the operator'"'"'s: no package script touches it\nhost=10.0.0.1\n' >"$props"
  trap 'rm -rf "$work" "$made"' EXIT
fi
check "storage worker for linux-arm64: cross-compiled, static aarch64, musl" arm64_worker
props_before=$(stat -c '%s %Y %i' "$props"; sha256sum <"$props")
props_untouched() { [ "$(stat -c '%s %Y %i' "$props"; sha256sum <"$props")" = "$props_before" ]; }

dpkg -r hb >/dev/null 2>&1
check "dpkg -i $deb" dpkg -i "$deb"
not_enabled() { ! find /etc/systemd/system -name hbd.service -path '*.wants/*' | grep -q .; }
check "  hbd installed, not enabled" not_enabled
installed_worker() {
  [ "$(stat -c '%a %U:%G %F' "$worker")" = "755 root:root regular file" ] || { stat "$worker"; return 1; }
  [ "$(dpkg-query -S "$worker")" = "hb: $worker" ] || return 1
  # Not a user command: nothing of it in /usr/bin.
  [ ! -e /usr/bin/hb-storage-worker ] && [ ! -L /usr/bin/hb-storage-worker ] || { echo "hb-storage-worker in /usr/bin"; return 1; }
  static_worker "$worker" x64 && musl_worker "$worker"
}
check "  $worker: the package's, 0755 root, static x86-64, musl" installed_worker
# Read from the package itself: minimal images tell dpkg to skip /usr/share/{man,doc}.
from_deb() { dpkg-deb --fsys-tarfile "$deb" | tar -xO ".$1"; }
# (Whole texts first: grep -q leaving a pipe early would fail it under pipefail.)
man_pages() {
  local hb hbd
  hb=$(from_deb /usr/share/man/man1/hb.1.gz | MANWIDTH=80 man -l -) && hbd=$(from_deb /usr/share/man/man8/hbd.8.gz | MANWIDTH=80 man -l -) &&
    grep -q 'hb shims' <<<"$hb" && grep -q -- '--demo' <<<"$hbd"
}
check "  man pages hb(1), hbd(8), from --help" man_pages
# Every command and compat entry point `hb --help` names is offered at its place.
completion() {
  local help want got missing
  bash -c '. /usr/share/bash-completion/completions/hb && complete -p hb hbd' | grep -c '^complete -F' | grep -qx 2 || { echo "no completion for hb and hbd"; return 1; }
  help=$(/usr/lib/hb/hb --help) || return 1
  want=$( { sed -n 's/^  hb \([a-z]\+\) .*/\1/p' <<<"$help"; sed -n 's/^  hb compat \([a-z|-]*\) .*/\1/p' <<<"$help" | tr '|' '\n' | sed 's/^/compat /'; } | sort -u)
  got=$(bash -c '. /usr/share/bash-completion/completions/hb
    COMP_WORDS=(hb ""); COMP_CWORD=1; _hb; printf "%s\n" "${COMPREPLY[@]}"
    COMP_WORDS=(hb compat ""); COMP_CWORD=2; _hb; printf "compat %s\n" "${COMPREPLY[@]}"' | sort -u)
  missing=$(comm -23 <(printf '%s\n' "$want") <(printf '%s\n' "$got"))
  [ -z "$missing" ] || { echo "not completed:" $missing; return 1; }
}
check "  bash completion of hb and hbd: every command hb --help names" completion
licenses() { local f; for f in copyright LICENSE LICENSE.node LICENSE.musl THIRD-PARTY-LICENSES; do [ "$(from_deb "/usr/share/doc/hb/$f" | wc -c)" -gt 0 ] || { echo "no $f"; return 1; }; done; }
check "  license files" licenses

# Everything below runs where node is not: bind-mounted over in a mount namespace of its own.
no_node() {
  unshare -m bash -c 'for n in /usr/bin/node /usr/bin/nodejs /usr/local/bin/node; do [ -e "$n" ] && mount --bind /dev/null "$n"; done
    if node -e 0 2>/dev/null; then echo "node still runs"; exit 99; fi
    cd / && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin AGENT_PROPS="'"$work"'/agent.properties" "$@"' bash "$@"
}
heartbeat_read() { no_node hb compat kvmheartbeat -i 10.0.0.2 -p /export -m "$work/pool" -h 10.0.0.5 -r -t 60 | grep -qx '=====> ALIVE <====='; }
same_scripts() { diff -r "$work/kvm.before" "$agent"; }
no_diversion() { ! dpkg-divert --list "$agent/*" | grep -q .; }
check "hb --version (no node)" no_node /usr/bin/hb --version
check "hb compat kvmheartbeat writes a heartbeat (storage worker from the executable)" no_node /usr/bin/hb compat kvmheartbeat -i 10.0.0.2 -p /export -m "$work/pool" -h 10.0.0.5
check "hb compat kvmheartbeat -r reads it: ALIVE" heartbeat_read
check "hb fence --dry-run (audit writer from the executable)" no_node /usr/bin/hb fence --dry-run --reason ci-packaging
check "hb shims install --divert" no_node /usr/bin/hb shims install --divert --dir "$agent"
check "  the shims run /usr/lib/hb/hb" grep -q "^exec '/usr/lib/hb/hb' compat kvmheartbeat" "$agent/kvmheartbeat.sh"
check "  dpkg would write the agent's next script to NAME.orig" test "$(dpkg-divert --truename "$agent/kvmheartbeat.sh")" = "$agent/kvmheartbeat.sh.orig"
check "hb shims uninstall --divert" no_node /usr/bin/hb shims uninstall --divert --dir "$agent"
restored() { same_scripts && no_diversion; }
check "  the scripts are upstream's again, no diversion left" restored
check "hb shims install --divert (again, left for dpkg -r)" no_node /usr/bin/hb shims install --divert --dir "$agent"
# doctor's exit 1 lists the host's problems (a container has no sysrq): the mode and the shims are what count here.
doctor_drop_in() {
  local out rc
  out=$(no_node /usr/bin/hb doctor --dir "$agent")
  rc=$?
  printf '%s\n' "$out"
  [ "$rc" -le 1 ] && grep -q '^mode: drop-in' <<<"$out" && grep -q '^shims: in place and running this hb' <<<"$out"
}
check "hb doctor --dir (drop-in mode, the shims run this hb)" doctor_drop_in
# The upgrade path of the maintainer scripts (prerm upgrade, postinst configure with the old
# version): the same executable packaged as the next version; the shims and their diversions stay.
diverted() { test "$(dpkg-divert --truename "$agent/kvmheartbeat.sh")" = "$agent/kvmheartbeat.sh.orig"; }
upgrade() {
  node packaging/build-packages.mjs --version "$version+ci.1" --out "$work/next" --no-rpm &&
    dpkg -i "$work/next/hb_${version}+ci.1_amd64.deb" &&
    [ "$(dpkg-query -W -f '${Version}' hb)" = "$version+ci.1" ]
}
check "dpkg -i of the next version (the upgrade path)" upgrade
check "  the shims still run this hb" grep -q "^exec '/usr/lib/hb/hb' compat kvmheartbeat" "$agent/kvmheartbeat.sh"
check "  still diverted" diverted
demo() { no_node timeout 180 /usr/bin/hbd --demo >"$work/demo.log" 2>&1 || { cat "$work/demo.log"; return 1; }; }
check "hbd --demo (no node)" demo
# hbd names the worker it starts per pool: the package's, beside its executable.
demo_worker() { grep -qF "storage worker: $worker" "$work/demo.log" || { echo "hbd --demo did not say \"storage worker: $worker\"; it began:"; head -15 "$work/demo.log"; return 1; }; }
check "  hbd --demo used $worker" demo_worker

files=$(deb_files)
check "dpkg -r hb" dpkg -r hb
left() { local f n=0; for f in $files; do if [ -e "$f" ] || [ -L "$f" ]; then echo "left behind: $f"; n=1; fi; done; return $n; }
check "  no file of the package left" left
check "  the agent folder's scripts restored" same_scripts
check "  no diversion left" no_diversion
check "  agent.properties untouched" props_untouched

[ "${1:-}" = --no-release ] && finish
check "@hb libraries: pnpm pack, publint, attw" node scripts/setup.mjs --quiet -- node packaging/check-libraries.mjs
check "examples/consumer: tarballs installed alone, type-checked, run" node scripts/setup.mjs --quiet -- node examples/consumer/run.mjs
finish
