# Scenario 4a: hbd keeps the VM's i6300esb (/dev/watchdog) alive; SIGSTOP hbd and the device resets the VM.
result watchdog_timeout "$(cat /sys/class/watchdog/watchdog0/timeout 2>/dev/null)"
result watchdog_identity "$(cat /sys/class/watchdog/watchdog0/identity 2>/dev/null)"
nfs_up vers=4.1,hard
write_props <<'PROPS'
hb.watchdog=device
hb.watchdog.device=/dev/watchdog
PROPS
hbd_start
wait_for "status_has '\"watchdog\":\\{[^}]*\"armed\":true'" 120 || fail "the watchdog was never armed"
result watchdog_status "$(status_doc | tr -d ' \n\r' | grep -o '"watchdog":{[^}]*}')"
sleep 1
pid=$(systemctl show -p MainPID --value hbd)
kill -STOP "$pid"
mark stop
sleep 120
fail "no reset within 120 s of SIGSTOP"
