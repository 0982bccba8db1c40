#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""vhost-net and the guest's header length: nothing written before a buffer.

The NIC writes its own virtio-net header in the PAGE_POOL_ZC_HDR_LEN (12)
bytes in front of the frame at PAGE_POOL_ZC_DATA_OFFSET (96). A guest
without VIRTIO_F_VERSION_1 has the legacy 10-byte header, so its buffers
of the page layout start at 86: completing them in place would have the
NIC write bytes 84 and 85 of its pages, which it never posted and the
dirty log does not cover. Userspace VMs (zcvm.VM), each with its buffer
area a page-mode PD bound to RX queue 0, the bytes in front of their
buffers filled with a marker:

 - L, legacy header: vhost-net posts none of its buffers; frames on its
   queue write nothing in front of them; its frames from queue 1 are
   copied, intact, in ring order;
 - K, 12-byte header, on the same queue: frames in place, and still
   nothing written in front of its buffers.
"""

from demuxlib import add_port, delta, load_demux, send
from vhost import PAGE
from zclib import (check, check_eq, finish, foll_pins, kernel_complaints,
                   netdev, wait_for)
from zcvm import NUM, RESERVE, VM, close_all, setup, teardown

MAC_L = "52:54:00:00:04:0a"
MAC_K = "52:54:00:00:04:0b"
MARK = b"notposted!" * PAGE

nic, idx, sports = setup("vhost_hdr")


def mark_fronts(vm):
    """Fill each buffer page in front of its buffer with MARK."""
    for i in range(NUM):
        p = vm.page_of(i)
        vm.vq.m[p:vm.vq.buf_addr(i)] = MARK[:vm.vq.buf_addr(i) - p]


def written_fronts(vm):
    """Buffers whose page changed in front of the buffer."""
    return [i for i in range(NUM)
            if vm.vq.m[vm.page_of(i):vm.vq.buf_addr(i)] !=
            MARK[:vm.vq.buf_addr(i) - vm.page_of(i)]]


vms = []
try:
    check_eq("a flow for each RX queue", sorted(sports), [0, 1])
    if len(sports) != 2:
        finish()
    qa, qb = 0, 1
    sa, sb = sports[qa], sports[qb]
    pins0, complaints0 = foll_pins(), kernel_complaints()
    watcher = netdev()
    load_demux(nic)
    n = 100

    L = VM("zhL", MAC_L, qa, legacy=True)
    vms.append(L)
    add_port(L.ifindex, MAC_L)
    check_eq("L: legacy header, buffers of the page layout from byte 86",
             (L.vq.hlen, L.vq.buf_addr(0) % PAGE), (10, 86))
    mark_fronts(L)
    send(n, sa, MAC_L, lossy=True)
    _, done = L.receive([], timeout=2)
    check_eq("L: no frame completed from its own queue: nothing posted",
             (len(done), L.info()["posted"], L.info()["inflight"]),
             (0, 0, 0))
    check_eq("L: nothing written in front of its buffers",
             written_fronts(L), [])
    s = send(n, sb, MAC_L)
    got, _ = L.receive(s)
    check_eq("L: its frames from the unbound queue arrive intact",
             len(got), n)
    check_eq("L: copied, into its first 100 buffers in ring order",
             [got[q][0] for q in s], list(range(n)))
    check_eq("L: the 10-byte header, no flags", {got[q][1] for q in s},
             {bytes(10)})
    L.nl.do("pd-unbind", {"id": L.pd, "ifindex": idx, "queue-id": qa})
    vms.remove(L)
    L.destroy()

    K = VM("zhK", MAC_K, qa)
    vms.append(K)
    add_port(K.ifindex, MAC_K)
    mark_fronts(K)
    check("K: 12-byte header, its buffers posted, a reserve kept", wait_for(
        5, lambda: K.info()["posted"] + K.info()["inflight"] ==
        NUM - RESERVE), str(K.info()))
    c = K.counters()
    s = send(n, sa, MAC_K)
    got, _ = K.receive(s)
    check_eq("K: frames received in place",
             (len(got), delta(c, K.counters()).get("guest-zc")), (n, n))
    check_eq("K: nothing written in front of its buffers",
             written_fronts(K), [])

    close_all(vms, watcher, pins0, complaints0)
finally:
    teardown(vms)

finish()
