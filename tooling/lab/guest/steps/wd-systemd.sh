# Scenario 4b: hb.watchdog=systemd with the shipped drop-in (WatchdogSec shortened to 10 s); SIGSTOP
# hbd: systemd's watchdog ends it and FailureAction=reboot-force resets the VM.
nfs_up vers=4.1,hard
write_props <<'PROPS'
hb.watchdog=systemd
PROPS
mkdir -p /etc/systemd/system/hbd.service.d
sed 's/^WatchdogSec=.*/WatchdogSec=10/' /opt/hb/apps/daemon/systemd/hbd-watchdog.conf >/etc/systemd/system/hbd.service.d/watchdog.conf
hbd_start
result watchdog_usec "$(systemctl show -p WatchdogUSec --value hbd)"
wait_for "status_has '\"watchdog\":\\{[^}]*\"armed\":true'" 120 || fail "the watchdog was never armed: $(hb status --json | json 'v.watchdog')"
result watchdog_status "$(hb status --json | json 'v.watchdog')"
sleep 1
mark stop
kill -STOP "$(systemctl show -p MainPID --value hbd)"
sleep 120
fail "no reset within 120 s of SIGSTOP"
