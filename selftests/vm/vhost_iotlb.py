#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""vhost-net behind a device IOTLB: a revoked buffer is never written.

A guest whose device is behind its IOMMU (VIRTIO_F_ACCESS_PLATFORM, a
vIOMMU) may revoke the IOVA of a buffer it made available at any time.
vhost-net's copy path translates each access through the device IOTLB and
asks the VMM on a miss; a page posted to the NIC, though, stays writable
until its queue restarts. So such a device gets no zero-copy. Userspace
VMs (zcvm.VM with iotlb=True) with their buffer area a page-mode PD bound
to RX queue 0 and attached to their tap:

 - V, behind the IOTLB from the start: vhost-net posts none of its
   buffers, so queue 0 receives nothing for it (starved); its frames from
   queue 1 are copied, intact. V revokes its buffers' IOVAs and fills
   their pages with a marker; frames then come on both queues: no page
   written, nothing completed, vhost-net asks for a translation; mapped
   again, the waiting frames are delivered;
 - J, zero-copy until it acks VIRTIO_F_ACCESS_PLATFORM on a running
   vhost-net: its posted buffers come back, empty, at once; after it
   revokes them, frames on its queue write none of them.
"""

from demuxlib import add_port, delta, load_demux, rx_packets, send
from vhost import PAGE
from zclib import (check, check_eq, finish, foll_pins, kernel_complaints,
                   netdev, wait_for)
from zcvm import NUM, RESERVE, VM, close_all, setup, teardown

MAC_V = "52:54:00:00:03:0a"
MAC_J = "52:54:00:00:03:0b"
MARK = b"revoked " * (PAGE // 8)

nic, idx, sports = setup("vhost_iotlb")


def mark(vm):
    """The guest fills every buffer page with MARK."""
    for i in range(NUM):
        p = vm.vq.bufs + i * PAGE
        vm.vq.m[p:p + PAGE] = MARK


def written(vm):
    """Buffers whose page is no longer MARK."""
    return [i for i in range(NUM)
            if vm.vq.m[vm.vq.bufs + i * PAGE:vm.vq.bufs + (i + 1) * PAGE]
            != MARK]


def revoked(what, vm, n=100):
    """vm revokes its buffers' IOVAs and marks their pages; n frames for
    it on each queue then write nothing; its buffers are mapped again.
    The frames of queue 1, which waited for the translation."""
    area = (vm.vq.bufs, NUM * PAGE)
    vm.vq.iotlb_unmap(*area)
    vm.vq.iotlb_misses(timeout=0.2)
    mark(vm)
    send(n, sports[0], vm.mac, lossy=True)
    waiting = send(n, sports[1], vm.mac)
    done = vm.vq.used_entries(NUM, timeout=2, repost=False)
    check_eq(f"{what}: its IOVAs revoked, nothing completed", len(done), 0)
    check_eq(f"{what}: no buffer page written, by the NIC or vhost-net",
             written(vm), [])
    miss = vm.vq.iotlb_misses()
    check(f"{what}: vhost-net asked the IOMMU to translate a buffer instead",
          [a for a in miss if 0 <= a - area[0] < area[1]], str(miss[:4]))
    vm.vq.iotlb_map(*area)
    return waiting


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

    # --- behind the IOTLB from the start ----------------------------------
    V = VM("ziV", MAC_V, qa, iotlb=True)
    vms.append(V)
    add_port(V.ifindex, MAC_V)
    s = send(n, sb, MAC_V)
    got, _ = V.receive(s)
    check_eq("V: frames from the unbound queue reach it intact", len(got), n)
    ids = [got[q][0] for q in s]
    check_eq("V: copied, into its first 100 buffers in ring order", ids,
             list(range(n)))
    check_eq("V: vhost-net posted none of its buffers into the PD",
             (V.info()["posted"], V.info()["inflight"]), (0, 0))
    rx0, st = rx_packets(nic)[qa], V.starved()
    s = send(n, sa, MAC_V, lossy=True)
    got, _ = V.receive(s, timeout=2)
    check_eq("V: its own queue gets no buffers, so no frame", len(got), 0)
    check("V: that queue starved (counted) and received nothing (qstats)",
          V.starved() > st and rx_packets(nic)[qa] == rx0,
          f"starved {st} -> {V.starved()}, rx {rx0} -> {rx_packets(nic)[qa]}")

    s = revoked("V", V, n)
    got, _ = V.receive(s)
    check_eq("V: mapped again, the frames that waited are delivered intact",
             len(got), n)
    V.nl.do("pd-unbind", {"id": V.pd, "ifindex": idx, "queue-id": qa})
    vms.remove(V)
    V.destroy()

    # --- VIRTIO_F_ACCESS_PLATFORM acked on a running vhost-net ----------
    J = VM("ziJ", MAC_J, qa)
    vms.append(J)
    add_port(J.ifindex, MAC_J)
    c = J.counters()
    s = send(n, sa, MAC_J)
    got, _ = J.receive(s)
    check_eq("J, no IOMMU yet: frames received in place",
             (len(got), delta(c, J.counters()).get("guest-zc")), (n, n))
    check("J: its buffers posted", wait_for(
        5, lambda: J.info()["posted"] + J.info()["inflight"] ==
        NUM - RESERVE), str(J.info()))
    J.vq.enable_iotlb()
    back = J.vq.used_entries(NUM, timeout=0.01, repost=False)
    check_eq("J acks VIRTIO_F_ACCESS_PLATFORM: every posted buffer back, "
             "used length 0, by the time its setup returns",
             sorted(len(h) + len(f) for _, h, f in back),
             [0] * (NUM - RESERVE))
    check_eq("J: and no completion after that",
             J.vq.used_entries(NUM, timeout=1, repost=False), [])
    check_eq("J: none posted any more", (J.info()["posted"],
                                         J.info()["inflight"]), (0, 0))
    J.vq.post([d for d, _, _ in back])
    s = revoked("J", J, n)
    got, _ = J.receive(s)
    check_eq("J: mapped again, the frames that waited are delivered intact",
             len(got), n)

    # --- the end -------------------------------------------------------------
    close_all(vms, watcher, pins0, complaints0)
finally:
    teardown(vms)

finish()
