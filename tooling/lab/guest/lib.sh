# Helpers of the guest steps. Markers go to the serial console, where the host stamps them on
# arrival; results are key=value lines on the 9p share (uncached: each line reaches the host).
RESULTS=/host/results/$STEP.txt
POOL=/mnt/pool
PROPS=/etc/cloudstack/agent/agent.properties

mark() { echo "HBLAB mark $1" >/dev/ttyS0; }
say() { echo "HBLAB say $*" >/dev/ttyS0; }
result() { printf '%s=%s\n' "$1" "$(printf '%s' "$2" | tr '\n' ' ')" >>"$RESULTS"; }
fail() {
  result error "$*"
  say "error: $*"
  finish
}
# Ends the step: the VM powers off at once (no unit is stopped: nothing here needs a clean stop).
finish() {
  mark "done-$STEP"
  sync
  systemctl poweroff --force --force
  sleep 60
}
# Reads one value out of the JSON on stdin: json 'v.targets[0].state'.
json() {
  node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>{let v;try{v=JSON.parse(s)}catch{v=null};let r;try{r=eval(process.argv[1])}catch{r=undefined};console.log(typeof r==="object"?JSON.stringify(r):String(r))})' "$1"
}
# Waits up to $2 seconds for the command in $1 to succeed, trying every half second (every Node
# start costs a second of an emulated CPU: polls must not starve hbd).
wait_for() {
  local deadline=$(($(date +%s) + $2))
  while ! eval "$1" >/dev/null 2>&1; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.5
  done
}
# hbd's status document from its read-only HTTP endpoint, with bash alone (no Node start).
status_doc() {
  exec 3<>/dev/tcp/127.0.0.1/9746 || return 1
  printf 'GET /status HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  timeout 5 cat <&3 | sed '1,/^\r*$/d'
  exec 3<&-
}
# True when the status document, blanks removed, matches the extended regex $1 (no Node start).
status_has() { status_doc | tr -d " \n\r" | grep -Eq "$1"; }

# The kernel NFS server exports /srv/nfs to this host; the pool is a real NFS mount of it.
nfs_up() {
  local options=${1:-vers=4.1,hard}
  systemctl start nfs-server || fail "nfs-server does not start"
  exportfs -ra
  mkdir -p "$POOL"
  local src=127.0.0.1:/pool
  case "$options" in vers=3*) src=127.0.0.1:/srv/nfs/pool ;; esac
  mount -t nfs -o "$options" "$src" "$POOL" || fail "mount $options failed"
  result mount "$(grep " $POOL " /proc/mounts)"
}
# The export stops answering: every packet to or from port 2049 is dropped (loopback both ways).
nfs_freeze() {
  nft add table inet lab
  nft add chain inet lab out '{ type filter hook output priority 0; policy accept; }'
  nft add rule inet lab out tcp dport 2049 drop
  nft add rule inet lab out tcp sport 2049 drop
}
nfs_thaw() { nft delete table inet lab; }

# agent.properties with the lab's short settings; KEY=VALUE lines on stdin replace or add to them.
write_props() {
  local overrides key
  overrides=$(cat)
  mkdir -p /etc/cloudstack/agent
  {
    while IFS= read -r line; do
      key=${line%%=*}
      printf '%s\n' "$overrides" | grep -q "^$key=" || printf '%s\n' "$line"
    done <<PROPS
heartbeat.update.timeout=10000
kvm.heartbeat.update.frequency=5000
kvm.heartbeat.update.max.tries=3
kvm.heartbeat.update.retry.sleep=2000
hb.fence.step.timeout=3000
hb.fence.flush.wait=1000
hb.host.ip=127.0.0.1
hb.pools=nfs:$POOL
hb.storage.worker=/opt/hb/hb-storage-worker
kvm.heartbeat.fence.action=reboot
PROPS
    [ -n "$overrides" ] && printf '%s\n' "$overrides"
  } >"$PROPS"
  hb config validate --file "$PROPS" >/dev/null || fail "agent.properties: $(hb config validate --file "$PROPS" 2>&1)"
  hb timing explain --json --file "$PROPS" >"/host/results/$STEP.timing.json"
}

# hbd as the real unit, its log also on the console (the host times its decision line there).
hbd_start() {
  mkdir -p /etc/systemd/system/hbd.service.d
  printf '[Service]\nStandardOutput=journal+console\nStandardError=journal+console\n' >/etc/systemd/system/hbd.service.d/console.conf
  systemctl daemon-reload
  systemctl start hbd || fail "hbd does not start: $(systemctl status hbd --no-pager 2>&1 | tail -5)"
  wait_for "status_has '\"targets\":\\[\\{[^]]*\"armed\":true'" 180 || fail "hbd never armed: $(hb status 2>&1 | tail -5)"
  result hbd_pid "$(systemctl show -p MainPID --value hbd)"
}

# The first process in state D in hbd's cgroup (its storage children stay there): its
# /proc/PID/stat, wchan and command line, within $1 s.
watch_dstate() {
  local deadline=$(($(date +%s) + $1)) procs=/sys/fs/cgroup/system.slice/hbd.service/cgroup.procs
  while [ "$(date +%s)" -lt "$deadline" ]; do
    for pid in $(cat "$procs" 2>/dev/null); do
      stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
      state=$(echo "${stat##*) }" | cut -d' ' -f1)
      if [ "$state" = D ]; then
        mark dstate
        result dstate_stat "$stat"
        result dstate_wchan "$(cat /proc/$pid/wchan 2>/dev/null)"
        result dstate_cmdline "$(tr '\0' ' ' </proc/$pid/cmdline 2>/dev/null | cut -c1-160)"
        say "D state: /proc/$pid/stat: $stat"
        return 0
      fi
    done
    sleep 0.1
  done
  return 1
}

# The pool's last good heartbeat (ISO wall time) from hbd's status, as the fault begins.
last_good_at() { status_doc | tr -d ' \n\r' | grep -o '"lastGoodAt":"[^"]*"' | head -1 | cut -d'"' -f4; }

# hb's reading commands with deadlines wide enough for Node starts on a busy emulated CPU: the
# reading is not what a scenario measures (hb.fence.step.timeout bounds it, 3 s here).
read_props() {
  cp "$PROPS" /run/read.properties
  hb config set hb.fence.step.timeout 30000 --file /run/read.properties >/dev/null
}
fence_last() {
  read_props
  hb fence last "$@" --file /run/read.properties
}

# Decision records in fence.jsonl: hbd reports a decision in its status before its record is
# written (by a child, bounded by hb.fence.step.timeout), so a step waits for the record itself.
decision_count() { grep -c '"kind":"decision"' /var/lib/hb/fence.jsonl 2>/dev/null || echo 0; }
wait_record() { wait_for "[ \"\$(decision_count)\" -gt $1 ]" 60 || result record_error "no decision record within 60 s"; }
