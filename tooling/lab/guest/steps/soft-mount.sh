# Scenario 6: a soft NFS v3 mount (timeo=10,retrans=2): the kernel returns EIO itself; first to a
# plain write, then to hbd's heartbeat (log-only), whose tries fail with EIO before its deadline.
systemctl start rpcbind
nfs_up vers=3,soft,timeo=10,retrans=2,proto=tcp,nolock
dd if=/dev/zero of="$POOL/probe" bs=4k count=1 oflag=sync 2>/dev/null || fail "the soft mount does not take a write"
mark fault-dd
nfs_freeze
t0=$(date +%s%N)
dd if=/dev/zero of="$POOL/probe" bs=4k count=1 oflag=sync 2>"/run/dd.err"
rc=$?
t1=$(date +%s%N)
result dd_rc "$rc"
result dd_error "$(tail -1 /run/dd.err)"
result dd_seconds "$(( (t1 - t0) / 1000000 ))"
nfs_thaw
wait_for "timeout 3 stat $POOL" 60 || fail "the pool did not come back"
write_props <<'PROPS'
heartbeat.update.timeout=10000
kvm.heartbeat.fence.action=log-only
PROPS
hbd_start
sleep 2
records=$(decision_count)
mark fault
nfs_freeze
result fault_wall_ms "$(date +%s%3N)"
wait_for "status_has '\"decisions\":\\[\\{'" 150 || fail "no decision within 120 s"
mark decided
wait_record "$records"
fence_last --json >"/host/results/$STEP.fence.json"
