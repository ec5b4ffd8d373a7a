# Scenario 3: restart-agent, then log-only. A stand-in cloudstack-agent unit; the VM keeps running.
cat >/etc/systemd/system/cloudstack-agent.service <<'UNIT'
[Unit]
Description=lab: stand-in of the CloudStack agent
[Service]
ExecStart=/bin/sleep infinity
UNIT
systemctl daemon-reload
systemctl start cloudstack-agent
nfs_up vers=4.1,hard
# One decision per action: hb fences a host once per start, so hbd starts again for the second.
for action in restart-agent log-only; do
  write_props <<PROPS
kvm.heartbeat.fence.action=$action
PROPS
  cp "/host/results/$STEP.timing.json" "/host/results/$STEP.$action.timing.json"
  systemctl stop hbd 2>/dev/null
  hbd_start
  agent_before=$(systemctl show -p MainPID --value cloudstack-agent)
  sleep 2
  records=$(decision_count)
  mark "fault-$action"
  nfs_freeze
  result "$action.fault_wall_ms" "$(date +%s%3N)"
  # An attempt in flight at the fault may still end well: read the last good heartbeat after its deadline.
  sleep 12
  result "$action.last_good_at" "$(last_good_at)"
  wait_for "status_has '\"decisions\":\\[\\{'" 120 || fail "$action: no decision within 90 s"
  mark "decided-$action"
  wait_record "$records"
  fence_last --json >"/host/results/$STEP.$action.fence.json"
  sleep 10
  mark "alive-$action"
  result "$action.alive_after" "10 s after the decision, uptime $(cut -d' ' -f1 /proc/uptime) s"
  result "$action.agent_pid" "$agent_before -> $(systemctl show -p MainPID --value cloudstack-agent)"
  result "$action.journal" "$(journalctl -t heartbeat -o cat --no-pager | grep -- "$action" | tail -1 | cut -c1-220)"
  nfs_thaw
  # The hung writes end once the server answers again; the next hbd starts on a working pool.
  wait_for "timeout 3 stat $POOL/KVMHA" 60 || fail "the pool did not come back"
done
