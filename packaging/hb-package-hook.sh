#!/bin/sh
# What the hb package's scripts (deb and rpm alike) do to the agent's script folders, with the
# package's own executable. Never touches agent.properties.
#   remove          the package goes: every folder whose scripts hb diverted (dpkg), and the
#                   agent's own folder if its shims run this package's hb, get their originals back.
#   agent-upgraded  (rpm, which has no diversions) an agent upgrade put upstream's scripts back
#                   over the shims in the agent's folder: the shims go back, the new scripts
#                   becoming the originals.
set -e
HB=/usr/lib/hb/hb
AGENT_DIR=/usr/share/cloudstack-common/scripts/vm/hypervisor/kvm
SCRIPTS="kvmheartbeat.sh kvmspheartbeat.sh kvmvmactivity.sh"

# Whether any of the folder's scripts is a shim that runs this package's hb.
runs_this_hb() {
  for name in $SCRIPTS; do
    if [ -f "$1/$name" ] && grep -q "^exec '$HB' compat " "$1/$name"; then return 0; fi
  done
  return 1
}

case "$1" in
  remove)
    if command -v dpkg-divert >/dev/null 2>&1; then
      # "diversion of DIR/NAME to DIR/NAME.orig by hb", one folder at a time
      dpkg-divert --list | sed -n 's|^diversion of \(.*\)/[^/]* to .*\.orig by hb$|\1|p' | sort -u |
        while IFS= read -r dir; do
          if [ -d "$dir" ]; then
            "$HB" shims uninstall --divert --dir "$dir"
          else
            # The folder is gone: only its records are left to take back.
            dpkg-divert --list "$dir/*" | sed -n 's|^diversion of \(.*\) to \(.*\) by hb$|\1\t\2|p' |
              while IFS="$(printf '\t')" read -r path to; do
                dpkg-divert --package hb --no-rename --divert "$to" --remove "$path" >/dev/null
              done
          fi
        done
    fi
    if [ -d "$AGENT_DIR" ] && runs_this_hb "$AGENT_DIR"; then "$HB" shims uninstall --dir "$AGENT_DIR"; fi
    ;;
  agent-upgraded)
    if [ -d "$AGENT_DIR" ] && [ -f "$AGENT_DIR/kvmheartbeat.sh.orig" ] && ! runs_this_hb "$AGENT_DIR"; then
      "$HB" shims install --force --dir "$AGENT_DIR"
    fi
    ;;
  *)
    echo "usage: hb-package-hook remove|agent-upgraded" >&2
    exit 2
    ;;
esac
