# Scenario 4b: hb.watchdog=systemd with the shipped drop-in (WatchdogSec=60); SIGSTOP hbd: systemd's
# watchdog ends it and FailureAction=reboot-force resets the VM. (A shorter WatchdogSec, 10 s, killed
# hbd here before its first keepalive: on this emulated CPU hbd needs more than 10 s to start and
# arm, and keepalives start only once every pool has succeeded once.)
nfs_up vers=4.1,hard
write_props <<'PROPS'
hb.watchdog=systemd
PROPS
mkdir -p /etc/systemd/system/hbd.service.d
cp /opt/hb/apps/daemon/systemd/hbd-watchdog.conf /etc/systemd/system/hbd.service.d/watchdog.conf
hbd_start
result watchdog_sec "$(sed -n 's/^WatchdogSec=//p' /etc/systemd/system/hbd.service.d/watchdog.conf)"
wait_for "status_has '\"watchdog\":\\{[^}]*\"armed\":true'" 120 || fail "the watchdog was never armed"
result watchdog_status "$(status_doc | tr -d ' \n\r' | grep -o '"watchdog":{[^}]*}')"
sleep 1
pid=$(systemctl show -p MainPID --value hbd)
# systemd's time of hbd's last keepalive (CLOCK_MONOTONIC, µs): its timeout comes WatchdogSec after it.
last=$(systemctl show -p WatchdogTimestampMonotonic --value hbd)
kill -STOP "$pid"
mark stop
now=$(awk '{ printf "%d", $1 * 1000000 }' /proc/uptime)
result keepalive_age_ms "$(( (now - last) / 1000 ))"
sleep 180
fail "no reset within 180 s of SIGSTOP"
