#!/bin/bash
# Guest side of the lab: started by hb-lab.service with the step named on the kernel command line
# (hblab=STEP). Runs /host/guest/steps/STEP.sh with lib.sh; results go to /host/results/STEP.txt.
set -u
STEP=$1
export STEP PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
. /host/guest/lib.sh
mark "start-$STEP"
result boot_id "$(cat /proc/sys/kernel/random/boot_id)"
result uptime_at_start "$(cut -d' ' -f1 /proc/uptime)"
result uname "$(uname -r)"
if [ ! -f "/host/guest/steps/$STEP.sh" ]; then fail "no step $STEP"; fi
. "/host/guest/steps/$STEP.sh"
finish
