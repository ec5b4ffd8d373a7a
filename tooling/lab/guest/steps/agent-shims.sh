# Scenario 5: the agent's own path. hb's shims over stand-in scripts, driven by a bash loop in the
# manner of the agent's KVMHAMonitor: a write every frequency, the tries with a pause after each
# failure, then -c once every try of a round failed (the agent kills each script at the timeout).
DIR=/usr/share/cloudstack-common/scripts/vm/hypervisor/kvm
mkdir -p "$DIR"
for s in kvmheartbeat.sh kvmspheartbeat.sh kvmvmactivity.sh; do
  printf '#!/bin/bash\necho "stand-in of %s"\n' "$s" >"$DIR/$s"
  chmod 0755 "$DIR/$s"
done
if hb shims install --dir "$DIR" >/dev/null 2>/run/shims.err; then
  result shims_install ok
  result shims "$(hb shims status --dir "$DIR" 2>&1 | tr -s ' ' | head -3)"
else
  result shims_install "failed: $(tail -1 /run/shims.err)"
  # The shims as hb shims install writes them, so that the agent's path still runs through hb.
  for s in kvmheartbeat kvmspheartbeat kvmvmactivity; do
    mv "$DIR/$s.sh" "$DIR/$s.sh.orig"
    printf '#!/bin/sh\nexec /usr/local/bin/hb compat %s "$@"\n' "$s" >"$DIR/$s.sh"
    chmod 0755 "$DIR/$s.sh"
  done
fi
nfs_up vers=4.1,hard
write_props </dev/null
result doctor "$(hb doctor --dir "$DIR" 2>&1 | grep -i mode | head -1)"
T=10 FREQ=5 TRIES=3 SLEEP=2
(
  while true; do
    failed=0
    for _ in $(seq "$TRIES"); do
      if timeout -s KILL "$T" "$DIR/kvmheartbeat.sh" -i 127.0.0.1 -p /pool -m "$POOL" -h 127.0.0.1 >/dev/null 2>&1; then
        date +%s%3N >/run/lab-last-ok
        failed=0
        break
      fi
      failed=1
      sleep "$SLEEP"
    done
    if [ "$failed" = 1 ]; then
      mark c-call
      date +%s%3N >/run/lab-c-call
      timeout -s KILL "$T" "$DIR/kvmheartbeat.sh" -i 127.0.0.1 -p /pool -m "$POOL" -h 127.0.0.1 -c >/run/lab-c-out 2>&1
      exit 0
    fi
    sleep "$FREQ"
  done
) &
wait_for "[ -s /run/lab-last-ok ]" 60 || fail "no heartbeat written through the shim"
sleep 8
mark fault
nfs_freeze
result fault_wall_ms "$(date +%s%3N)"
wait_for "[ -s /run/lab-c-call ]" 120 || fail "the loop never called -c"
result c_call_wall_ms "$(cat /run/lab-c-call)"
# Read only now: a write in flight at the fault may still have ended well.
result last_good_wall_ms "$(cat /run/lab-last-ok)"
sleep 120
fail "no reset within 120 s of -c: $(cat /run/lab-c-out)"
