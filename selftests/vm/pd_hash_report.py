#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A NIC whose virtio-net header the page layout cannot hold: no binding.

Run in a VM whose NIC has QEMU's hash=on (scripts/run-tests.sh boots one
with scripts/vm-run.sh --nic rss=on,hash=on): virtio_net negotiates
VIRTIO_NET_F_HASH_REPORT, and its header is 20 bytes, 8 more than the
PAGE_POOL_ZC_HDR_LEN in front of the frame. Bound, the device would
write them in front of the guest's buffer. pd-bind to either RX queue
must fail, with EOPNOTSUPP, the core's extack and the driver's reason in
the kernel log, and leave the queue receiving as before.
"""

import errno

from demuxlib import MAC_X, rx_packets, send
from zclib import (Memory, check, check_eq, check_refused, finish, netdev,
                   pd_create, pd_get, sh, wait_for)
from zcvm import setup, teardown

VIRTIO_NET_F_HASH_REPORT = 57

nic, idx, sports = setup("pd_hash_report")
try:
    with open(f"/sys/class/net/{nic}/device/features") as f:
        acked = f.read().strip()
    check("VIRTIO_NET_F_HASH_REPORT acked (the NIC has hash=on)",
          acked[VIRTIO_NET_F_HASH_REPORT] == "1", acked)
    check_eq("a flow for each RX queue", sorted(sports), [0, 1])
    nl = netdev()
    mem = Memory(64)
    pd = pd_create(nl, [mem.range()], mode="page")
    for q in sorted(sports):
        sh("dmesg -C")
        check_refused(f"pd-bind to queue {q}: refused", errno.EOPNOTSUPP,
                      "driver failed to restart the queue", nl.do,
                      "pd-bind", {"id": pd, "ifindex": idx, "queue-id": q})
        check_eq(f"queue {q}: not listed as bound",
                 pd_get(nl, pd).get("binding"), None)
        check(f"queue {q}: the driver logged why",
              "no memory provider with a 20-byte virtio-net header" in
              sh("dmesg"), sh("dmesg | tail -3"))
        before = rx_packets(nic)[q]
        send(10, sports[q], MAC_X)
        check(f"queue {q}: receives as before", wait_for(
            5, lambda: rx_packets(nic)[q] - before >= 10),
            f"{before} -> {rx_packets(nic)[q]}")
finally:
    teardown()

finish()
