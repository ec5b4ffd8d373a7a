/**
 * A /proc/self/mounts as readers of the mount table meet it: NFS pools (one a prefix of another,
 * one with an octal escape), a local disk, a FUSE NFS client, a line of garbage and an empty one.
 */
export const MOUNT_TABLE = [
  "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0",
  "10.0.0.2:/export/primary /mnt/4f1c nfs4 rw,relatime,vers=4.2,soft,proto=tcp 0 0",
  "10.0.0.2:/export/other /mnt/4f1c2 nfs rw,relatime,vers=3 0 0",
  "/dev/sdb1 /mnt/local ext4 rw,relatime 0 0",
  "10.0.0.3:/export/with\\040space /mnt/with\\040space nfs rw 0 0",
  "nfs://127.0.0.1/export /mnt/fuse fuse.fuse-nfs rw,nosuid,nodev 0 0",
  "garbage",
  "",
].join("\n");
