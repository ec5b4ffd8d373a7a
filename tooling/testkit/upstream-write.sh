#!/bin/bash
# The write mode of upstream's kvmheartbeat.sh, as ../shared/reference/cloudstack-ha-spec.md §1.2
# documents it (step 3 and "write"), for measuring it beside hb on the same storage: the same
# commands in the same order, nothing of hb's.
# usage: upstream-write.sh MOUNT_POINT HOST_IP
MountPoint=$1
HostIP=$2
hbFolder=$MountPoint/KVMHA/
hbFile=$hbFolder/hb-$HostIP

stat $hbFile &> /dev/null
if [ $? -gt 0 ]
then
   mkdir -p $hbFolder &> /dev/null
   touch $hbFile &> /dev/null
   if [ $? -gt 0 ]
   then
      printf "Failed to create $hbFile"
      exit 2
   fi
fi
timestamp=$(date +%s)
echo $timestamp > $hbFile
exit $?
