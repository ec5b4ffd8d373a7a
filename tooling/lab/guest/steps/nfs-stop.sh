# Scenario 1: the NFS server stops answering under a running hbd (action reboot, hard mount).
nfs_up vers=4.1,hard
write_props </dev/null
hbd_start
mark armed
sleep 2
mark fault
nfs_freeze
result fault_wall_ms "$(date +%s%3N)"
watch_dstate 20 || result dstate_stat "none seen"
# hbd answers while its write is stuck in the kernel: its HTTP status (bash, no Node start), then
# hb status over the control socket.
t0=$(date +%s%N)
status_doc | tr -d ' \n\r' | grep -q '"targets"' && result http_status_ms "$(( ($(date +%s%N) - t0) / 1000000 ))"
read_props
t0=$(date +%s%N)
status=$(hb status --json --file /run/read.properties 2>/run/status.err) && mark status-answered
result hb_status_ms "$(( ($(date +%s%N) - t0) / 1000000 ))"
result status_error "$(head -c 300 /run/status.err)"
result last_good_at "$(last_good_at)"
result status_during_hang "$(printf '%s' "$status" | json '`${v.targets[0].state} failures=${v.targets[0].consecutiveFailures} healthy=${v.healthy}`')"
sync
# The decision comes, sysrq resets the VM: qemu exits under -no-reboot. Nothing past here runs.
sleep 300
fail "no reset within 300 s of the fault"
