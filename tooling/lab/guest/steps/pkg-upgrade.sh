# Scenario 7: hb as an operator installs it. The .deb (the executable `pnpm release` built, packaged
# as two versions by the host: /host/debs), hbd enabled and running with the shipped watchdog
# drop-in on a real NFS pool, then `dpkg -i` of the next version while hbd runs: postinst restarts
# hbd on the new executable. The host judges the heartbeat's continuity from the writes seen here.
# Then `dpkg -r hb`: hbd stops, the agent's scripts come back, the VM keeps running.
DIR=/usr/share/cloudstack-common/scripts/vm/hypervisor/kvm
V1=$(ls /host/debs/hb_*+lab.1_*.deb 2>/dev/null)
V2=$(ls /host/debs/hb_*+lab.2_*.deb 2>/dev/null)
[ -n "$V1" ] && [ -n "$V2" ] || fail "no packages in /host/debs"
result versions "$(dpkg-deb -f "$V1" Version) $(dpkg-deb -f "$V2" Version)"

# The image's own hb (a build of the checkout under /opt/hb) gives way to the package's.
rm -f /usr/local/bin/hb /usr/local/sbin/hbd /etc/systemd/system/hbd.service
systemctl daemon-reload
hash -r
mark install
dpkg -i "$V1" >/run/dpkg-install.log 2>&1 || fail "dpkg -i $V1: $(tail -3 /run/dpkg-install.log)"
result hb_path "$(readlink -f "$(command -v hb)") $(readlink -f "$(command -v hbd)")"
result enabled_after_install "$(systemctl is-enabled hbd 2>&1)"

# Stand-ins of the agent's scripts, hb's shims over them with dpkg-divert (the README's way).
mkdir -p "$DIR"
for s in kvmheartbeat.sh kvmspheartbeat.sh kvmvmactivity.sh; do
  printf '#!/bin/bash\necho "stand-in of %s"\n' "$s" >"$DIR/$s"
  chmod 0755 "$DIR/$s"
done
cp -a "$DIR" /run/kvm.before
hb shims install --divert --dir "$DIR" >/run/shims.log 2>&1 || fail "hb shims install --divert: $(tail -2 /run/shims.log)"
shims_in_place() { grep -q "^exec '/usr/lib/hb/hb' compat kvmheartbeat" "$DIR/kvmheartbeat.sh" && [ "$(dpkg-divert --truename "$DIR/kvmheartbeat.sh")" = "$DIR/kvmheartbeat.sh.orig" ]; }

# The export on tmpfs: a pool's storage is not the host's root disk. Served from the VM's own
# disk, the server's commits waited behind the writeback of dpkg's unpack (ext4 data=ordered: an
# fsync flushes the 110 MiB executable being written) and a try of the old hbd timed out.
mount -t tmpfs -o size=64m,mode=0755 lab-export /srv/nfs || fail "tmpfs on /srv/nfs"
mkdir -p /srv/nfs/pool
nfs_up vers=4.1,hard
# hb.storage.worker=auto: the package's worker, /usr/lib/hb/hb-storage-worker, beside hbd.
write_props <<'PROPS'
hb.watchdog=systemd
hb.heartbeat.max.age=30000
hb.storage.worker=auto
PROPS
props_sum=$(sha256sum <"$PROPS")
mkdir -p /etc/systemd/system/hbd.service.d
cp /usr/share/hb/hbd-watchdog.conf /etc/systemd/system/hbd.service.d/watchdog.conf
result watchdog_sec "$(sed -n 's/^WatchdogSec=//p' /etc/systemd/system/hbd.service.d/watchdog.conf)"
systemctl enable hbd >/dev/null 2>&1 || fail "systemctl enable hbd"
hbd_start
wait_for "status_has '\"watchdog\":\\{[^}]*\"armed\":true'" 120 || fail "the watchdog was never armed"
pid1=$(systemctl show -p MainPID --value hbd)
result worker_before "$(for p in $(cat /proc/"$pid1"/task/*/children 2>/dev/null); do readlink /proc/"$p"/exe; done | sort -u | tr '\n' ' ')"

# Every heartbeat write as the export's own file shows it (hb writes a new file and renames it
# over the old one), stamped on arrival; and the moment the old hbd's process is gone.
hbfile=$(ls /srv/nfs/pool/KVMHA/hb-* 2>/dev/null | head -1)
[ -n "$hbfile" ] || fail "no heartbeat file in /srv/nfs/pool/KVMHA"
(
  last=""
  gone=""
  while :; do
    v=""
    read -r v <"$hbfile" 2>/dev/null
    if [ -n "$v" ] && [ "$v" != "$last" ]; then
      echo "$EPOCHREALTIME" >>/run/writes.log
      last=$v
    fi
    if [ -z "$gone" ] && [ ! -d "/proc/$pid1" ]; then
      gone=$EPOCHREALTIME
      echo "$gone" >/run/old-gone
    fi
    sleep 0.2
  done
) &
watcher=$!
sleep 15

inode1=$(stat -L -c %i /proc/"$pid1"/exe)
decisions_before=$(decision_count)
mark upgrade
result upgrade_start "$EPOCHREALTIME"
dpkg -i "$V2" >/run/dpkg-upgrade.log 2>&1 || fail "dpkg -i $V2: $(tail -3 /run/dpkg-upgrade.log)"
result upgrade_end "$EPOCHREALTIME"
mark upgraded
result installed_version "$(dpkg-query -W -f '${Version}' hb)"
pid2=$(systemctl show -p MainPID --value hbd)
result pids "$pid1 $pid2"
result exe_inodes "$inode1 $(stat -L -c %i /proc/"$pid2"/exe 2>/dev/null) $(stat -L -c %i /usr/lib/hb/hb)"
result hbd_version "$(hbd --version 2>&1 | head -1)"
wait_for "status_has '\"targets\":\\[\\{[^]]*\"armed\":true'" 120 && result armed_again "$EPOCHREALTIME"
# The new hbd's first keepalive is due WatchdogSec after its start: wait well past it.
started=$(systemctl show -p ExecMainStartTimestampMonotonic --value hbd)
wsec=$(sed -n 's/^WatchdogSec=//p' /etc/systemd/system/hbd.service.d/watchdog.conf)
while [ "$(awk '{ printf "%d", $1 * 1000000 }' /proc/uptime)" -lt $((started + (wsec + 15) * 1000000)) ]; do sleep 1; done
kill "$watcher" 2>/dev/null
result writes "$(tr '\n' ' ' </run/writes.log)"
result old_gone "$(cat /run/old-gone 2>/dev/null)"
last=$(systemctl show -p WatchdogTimestampMonotonic --value hbd)
now=$(awk '{ printf "%d", $1 * 1000000 }' /proc/uptime)
result keepalive_age_ms "$(((now - last) / 1000))"
result since_start_ms "$(((now - started) / 1000))"
result unit_state "$(systemctl is-active hbd) $(systemctl show -p Result --value hbd) NRestarts=$(systemctl show -p NRestarts --value hbd) $(systemctl show -p MainPID --value hbd)"
result watchdog_timeouts "$(journalctl -b -u hbd --no-pager 2>/dev/null | grep -c 'Watchdog timeout')"
result decisions "$decisions_before $(decision_count)"
shims_in_place && result shims_after_upgrade ok
result boot_id_after_upgrade "$(cat /proc/sys/kernel/random/boot_id)"

mark remove
dpkg -r hb >/run/dpkg-remove.log 2>&1 || fail "dpkg -r hb: $(tail -3 /run/dpkg-remove.log)"
result removed ok
result hbd_after_remove "$(systemctl is-active hbd 2>&1) $([ -d "/proc/$pid2" ] && echo "pid $pid2 alive" || echo "pid $pid2 gone")"
result files_left "$(ls -A /usr/lib/hb /usr/bin/hb /usr/bin/hbd /usr/lib/systemd/system/hbd.service 2>/dev/null | tr '\n' ' ')"
diff -r /run/kvm.before "$DIR" >/run/scripts.diff 2>&1 && result scripts_restored ok || result scripts_restored "$(head -3 /run/scripts.diff)"
result diversions_left "$(dpkg-divert --list | grep -c ' by hb$')"
[ "$(sha256sum <"$PROPS")" = "$props_sum" ] && result props_untouched ok
# With the drop-in's FailureAction=reboot-force, an unclean stop would reset the VM now.
sleep 10
mark alive-after-remove
result boot_id_end "$(cat /proc/sys/kernel/random/boot_id)"
