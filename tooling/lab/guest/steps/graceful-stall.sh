# Scenario 2: graceful-reboot while a unit stalls the shutdown for ever; the sysrq fallback resets
# the VM at hb.fence.graceful.deadline.
cat >/etc/systemd/system/lab-stall.service <<'UNIT'
[Unit]
Description=lab: a service whose stop never ends
[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/bin/true
ExecStop=/bin/sleep infinity
TimeoutStopSec=infinity
UNIT
systemctl daemon-reload
systemctl start lab-stall || fail "lab-stall does not start"
nfs_up vers=4.1,hard
write_props <<'PROPS'
kvm.heartbeat.fence.action=graceful-reboot
hb.fence.graceful.deadline=15000
PROPS
hbd_start
sleep 2
mark fault
nfs_freeze
result fault_wall_ms "$(date +%s%3N)"
# An attempt in flight at the fault may still end well: read the last good heartbeat after its deadline.
sleep 12
result last_good_at "$(last_good_at)"
sleep 300
fail "no reset within 300 s of the fault"
