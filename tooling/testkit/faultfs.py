#!/usr/bin/python3
"""Passthrough FUSE filesystem with fault injection, for tests of storage that is slow, hung or failing.

usage: /usr/bin/python3 faultfs.py BACKING_DIR MOUNTPOINT CONTROL_FILE [--noac]

--noac: no attribute or name caching in the kernel (attr_timeout, entry_timeout and
negative_timeout 0), as an NFS client mounted with upstream's `noac`: every lookup and stat
reaches the server, so the operation count is the number of round trips.

CONTROL_FILE is JSON, re-read on every operation:
  {"delayMs": 0, "hang": false, "errno": 0, "ops": ["write", ...]}
  delayMs  sleep before each listed operation
  hang     hold each listed operation until hang is false again: the caller blocks in the kernel,
           and once killed it stays in D state until released, as a writer on a hung NFS hard mount
  errno    fail each listed operation with this errno (5 = EIO)
  ops      the operations to fault; default: write, create, open, flush, fsync, truncate;
           "*": every operation (release, opendir, access, statfs… included)

CONTROL_FILE.state is rewritten (atomically) after every operation:
  {"held": N, "faulted": TOTAL, "total": OPERATIONS, "ops": {"getattr": 3, "write": 1, ...}}
  total and ops count every operation that reached this filesystem, faulted or not.

Needs Debian's python3-fusepy (module "fusepy", run with /usr/bin/python3) and /dev/fuse.
The process serving the mount never touches the mount itself.
"""
import errno
import json
import os
import sys
import threading
import time

from fusepy import FUSE, FuseOSError, Operations

backing, mountpoint, control = sys.argv[1], sys.argv[2], sys.argv[3]
noac = "--noac" in sys.argv[4:]
DEFAULT_OPS = ["write", "create", "open", "flush", "fsync", "truncate"]
state_lock = threading.Lock()
state = {"held": 0, "faulted": 0, "total": 0, "ops": {}}


def read_control():
    try:
        with open(control) as f:
            value = json.load(f)
        return value if isinstance(value, dict) else {}
    except (OSError, ValueError):
        return {}


def publish_state():
    # Called with state_lock held; rename keeps readers from seeing half a file.
    tmp = control + ".state.tmp"
    with open(tmp, "w") as f:
        json.dump(state, f)
    os.replace(tmp, control + ".state")


def fault(op):
    c = read_control()
    ops = c.get("ops", DEFAULT_OPS)
    if op not in ops and "*" not in ops:
        return
    with state_lock:
        state["faulted"] += 1
        publish_state()
    if c.get("delayMs"):
        # Sleep in slices so that lifting the fault also ends a delay in progress.
        until = time.monotonic() + c["delayMs"] / 1000
        while time.monotonic() < until and read_control().get("delayMs"):
            time.sleep(min(0.02, max(0.0, until - time.monotonic())))
    if c.get("hang"):
        with state_lock:
            state["held"] += 1
            publish_state()
        try:
            while c.get("hang"):
                time.sleep(0.02)
                c = read_control()
        finally:
            with state_lock:
                state["held"] -= 1
                publish_state()
    if c.get("errno"):
        raise FuseOSError(int(c["errno"]))


def backing_flags(flags):
    # The kernel already honours O_DIRECT on the FUSE side; the backing file is read through
    # Python's unaligned buffers, which O_DIRECT on ext4 would refuse.
    return flags & ~getattr(os, "O_DIRECT", 0)


def count(op):
    with state_lock:
        state["total"] += 1
        state["ops"][op] = state["ops"].get(op, 0) + 1
        publish_state()


class FaultFS(Operations):
    def __call__(self, op, *args):
        # Every operation passes here: the count is what a server would have been asked.
        if op not in ("init", "destroy"):
            count(op)
            fault(op)
        return super().__call__(op, *args)

    def getxattr(self, path, name, position=0):
        # ENOSYS: the kernel stops asking (no xattrs, as NFSv3), instead of one more request per write.
        raise FuseOSError(errno.ENOSYS)

    def _p(self, path):
        return os.path.join(backing, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path))
        return {k: getattr(st, k) for k in ("st_atime", "st_ctime", "st_gid", "st_mode", "st_mtime", "st_nlink", "st_size", "st_uid")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._p(path), times)

    def truncate(self, path, length, fh=None):
        with open(self._p(path), "r+") as f:
            f.truncate(length)

    def open(self, path, flags):
        return os.open(self._p(path), backing_flags(flags))

    def create(self, path, mode, fi=None):
        return os.open(self._p(path), os.O_WRONLY | os.O_CREAT, mode)

    def read(self, path, size, offset, fh):
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        return os.pwrite(fh, data, offset)

    def flush(self, path, fh):
        return 0

    def fsync(self, path, datasync, fh):
        os.fsync(fh)
        return 0

    def fsyncdir(self, path, datasync, fh):
        return 0

    def release(self, path, fh):
        os.close(fh)
        return 0

    def statfs(self, path):
        s = os.statvfs(self._p(path))
        return {k: getattr(s, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail", "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}


if __name__ == "__main__":
    with state_lock:
        publish_state()
    caching = {"attr_timeout": 0, "entry_timeout": 0, "negative_timeout": 0} if noac else {}
    FUSE(FaultFS(), mountpoint, foreground=True, nothreads=False, allow_other=False, default_permissions=False, **caching)
