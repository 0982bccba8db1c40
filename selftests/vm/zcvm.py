# SPDX-License-Identifier: GPL-2.0
"""Userspace VMs on the test VM's NIC, for the vhost-net zero-copy tests.

A VM is a tap, vhost-net on it (vhost.VhostRx: guest memory, a split
virtqueue) and its buffer area registered as a protection domain in page
mode, bound to an RX queue of the virtio NIC and attached to the tap.
setup() prepares the NIC and finds a UDP source port for each RX queue.
"""

import gc
import os
import time

from demuxlib import DEMUX, find_sports, frame_seq, open_tap, pd_counters
from vhost import PAGE, VhostRx
from zclib import (GUEST_IP, check, check_eq, foll_pins, ifindex,
                   kernel_complaints, netdev, pd_create, pd_get, pd_ids,
                   pd_test_nic, sh, wait_for)

NUM = 256
RESERVE = NUM // 8                  # buffers vhost-net keeps for copies
nic = idx = None


def setup(name):
    """The NIC up for the demux (promiscuous, an address, no IPv6): (nic,
    its ifindex, {RX queue: UDP source port})."""
    global nic, idx
    nic, idx = pd_test_nic(name)
    sh(f"ip link set {nic} up promisc on")
    sh(f"ip addr add {GUEST_IP}/24 dev {nic}", check_rc=False)
    sh(f"sysctl -qw net.ipv6.conf.{nic}.disable_ipv6=1")
    return nic, idx, find_sports(nic)


def close_all(vms, watcher, pins0, complaints0):
    """The end of a test: every VM of vms closed, then checked where the
    kernel keeps it: each PD gone, every page unpinned (/proc/vmstat's
    FOLL_PIN counts back to pins0), no new complaint in the kernel log
    (after the PDs' free work, which runs once they are gone)."""
    for vm in list(vms):
        vms.remove(vm)
        vm.destroy()
    gc.collect()
    check("PDs gone once their VMs closed", wait_for(
        10, lambda: not pd_ids(watcher)), str(pd_ids(watcher)))
    check_eq("every page unpinned (nr_foll_pin back)",
             wait_for(5, lambda: foll_pins() == pins0) and
             foll_pins() - pins0, 0)
    check_eq("no complaint in the kernel log",
             [x for x in kernel_complaints() if x not in complaints0], [])


def teardown(vms=()):
    """Whatever a failed test left: its VMs, the demux, the NIC's setup."""
    for vm in vms:
        try:
            vm.close()
        except OSError:
            pass
    sh(f"bpftool net detach xdpdrv dev {nic}", check_rc=False)
    sh(f"rm -rf {DEMUX}", check_rc=False)
    sh(f"ip link set {nic} promisc off", check_rc=False)
    sh(f"ip addr del {GUEST_IP}/24 dev {nic}", check_rc=False)


class VM:
    """A userspace VM: a tap, vhost-net, guest memory in a page-mode PD,
    bound to RX queue queue of the NIC (None: not bound); vq: more
    options of its VhostRx (iotlb, legacy)."""

    def __init__(self, name, mac, queue, page=True, pd=None, nl=None,
                 trust=False, **vq):
        self.name, self.mac = name, mac
        self.fd = open_tap(name)
        self.ifindex = ifindex(name)
        self.vq = VhostRx(self.fd, num=NUM, page=page, **vq)
        self.own_nl = nl is None
        self.nl = nl or netdev()
        self.pd = pd or pd_create(self.nl, [self.vq.buf_range()],
                                  mode="page", trust=trust)
        if queue is not None:
            self.nl.do("pd-bind", {"id": self.pd, "ifindex": idx,
                                   "queue-id": queue})
        self.nl.do("pd-attach", {"id": self.pd, "ifindex": self.ifindex})
        self.vq.kick_now()          # vhost-net posts on the next kick
        self.held = []

    def counters(self):
        return pd_counters(self.nl, self.pd)

    def starved(self):
        return self.info()["starved"]

    def info(self):
        return pd_get(self.nl, self.pd)

    def receive(self, seqs, timeout=10, repost=True):
        """Completions until every frame of seqs is in, or for timeout if
        seqs is empty: {seq: (descriptor id, header, frame)} and the other
        completions."""
        want, got, other = set(seqs), {}, []
        end = time.time() + timeout
        while (not want or not want <= set(got)) and time.time() < end:
            for d, hdr, frame in self.vq.used_entries(
                    len(want - set(got)) or NUM, timeout=0.5,
                    repost=repost):
                s = frame_seq(frame)
                if s in want:
                    got[s] = (d, hdr, frame)
                else:
                    other.append((d, hdr, frame))
                if not repost:
                    self.held.append(d)
        return got, other

    def post_held(self, n=None):
        n = len(self.held) if n is None else n
        ids, self.held = self.held[:n], self.held[n:]
        self.vq.post(ids)

    def page_of(self, d):
        """Guest address of the page descriptor d's buffer is in."""
        return self.vq.buf_addr(d) & ~(PAGE - 1)

    def close(self):
        self.vq.close()
        os.close(self.fd)

    def destroy(self):
        """close(), and the netlink socket if this VM opened it: its PD
        goes now, not when the garbage collector finds the socket."""
        self.close()
        if self.own_nl:
            self.nl.sock.close()

