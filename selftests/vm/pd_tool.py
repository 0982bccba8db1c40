#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Small page_pool_zc client for the selftests, run as its own process.

  pd_tool.py try-create --pages N
      register N pages of this process as a PD; print "id ID", or
      "errno E extack MSG" if refused; exit (the PD goes with the socket)
  pd_tool.py ids
      print the ids of the PDs pd-get dump lists in this network namespace
  pd_tool.py hold --pages N [--bind IFINDEX:QUEUE] [--tap NAME]
      register N pages, bind the PD to a queue, print "id ID" and wait to
      be killed: the PD's owner for tests of the owner's death; with
      --tap, also open tap NAME (up) and read it, as a VM's vhost would
"""

import argparse
import fcntl
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("cmd", choices=["try-create", "ids", "hold"])
    ap.add_argument("--pages", type=int, default=8)
    ap.add_argument("--bind")
    ap.add_argument("--tap")
    args = ap.parse_args()

    nl = netdev()
    if args.cmd == "ids":
        print(" ".join(str(i) for i in pd_ids(nl)))
        return 0

    mem = Memory(args.pages)
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
    print(f"id {pd}", flush=True)
    if args.cmd == "hold":
        signal.pause()
    return 0


if __name__ == "__main__":
    sys.exit(main())
