#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Small page_pool_zc client for the selftests, run as its own process.

  pd_tool.py try-create --pages N [--noreserve]
      register N pages of this process as a PD; print "id ID", or
      "errno E extack MSG" if refused; exit (the PD goes with the socket);
      --noreserve: of a mapping never touched (MAP_NORESERVE)
  pd_tool.py charge --pages N
      touch N pages, register them and print "charged BYTES": what
      pd-create added to this process's memory cgroup (memory.current)
  pd_tool.py ids
      print the ids of the PDs pd-get dump lists in this network namespace
  pd_tool.py hold --pages N [--bind IFINDEX:QUEUE] [--tap NAME]
      register N pages, bind the PD to a queue, print "id ID" and wait to
      be killed: the PD's owner for tests of the owner's death; with
      --tap, also open tap NAME (up) and read it, as a VM's vhost would
"""

import argparse
import fcntl
import mmap
import os
import signal
import struct
import subprocess
import sys
import threading

from zclib import Memory, NlError, netdev, pd_create, pd_ids


def drain(fd):
    """Read and drop the frames of a tap, as a VM that keeps up would."""
    while True:
        os.read(fd, 65536)


def memcg_current():
    """memory.current of this process's cgroup (v2), in bytes."""
    with open("/proc/self/cgroup") as f:
        path = f.read().strip().split("::", 1)[1]
    with open(f"/sys/fs/cgroup{path}/memory.current") as f:
        return int(f.read())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["try-create", "ids", "hold", "charge"])
    ap.add_argument("--pages", type=int, default=8)
    ap.add_argument("--noreserve", action="store_true")
    ap.add_argument("--bind")
    ap.add_argument("--tap")
    args = ap.parse_args()

    nl = netdev()
    if args.cmd == "ids":
        print(" ".join(str(i) for i in pd_ids(nl)))
        return 0

    flags = mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS
    if args.noreserve:
        flags |= getattr(mmap, "MAP_NORESERVE", 0x4000)   # 3.12 has it
    mem = Memory(args.pages, flags)
    if args.cmd == "charge":
        for off in range(0, mem.size, mmap.PAGESIZE):
            mem.map[off] = 1
        before = memcg_current()
    try:
        pd = pd_create(nl, [mem.range()])
        if args.bind:
            ifindex, queue = (int(x) for x in args.bind.split(":"))
            nl.do("pd-bind", {"id": pd, "ifindex": ifindex,
                              "queue-id": queue})
    except NlError as e:
        msg = (e.nl_msg.extack or {}).get("msg", "")
        print(f"errno {e.error} extack {msg}", flush=True)
        return 0
    if args.tap:
        fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(fd, 0x400454CA,                  # TUNSETIFF
                    struct.pack("16sH", args.tap.encode(), 0x0002 | 0x1000))
        subprocess.run(["ip", "link", "set", args.tap, "up"], check=True)
        threading.Thread(target=drain, args=(fd,), daemon=True).start()
    if args.cmd == "charge":
        print(f"charged {memcg_current() - before}", flush=True)
        return 0
    print(f"id {pd}", flush=True)
    if args.cmd == "hold":
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
