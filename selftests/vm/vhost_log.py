#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Live migration: vhost-net's dirty log covers zero-copy completions.

With dirty logging on (VHOST_SET_LOG_BASE, VHOST_F_LOG_ALL, the used ring
logged: what a VMM does when migration starts), every guest page the NIC
wrote and vhost-net completed in place must be in the log bitmap, as the
pages of the copy path are; a page written behind vhost's back and not
logged is corrupt after migration (DESIGN.md invariant 7). One userspace
VM (zcvm.VM) receives frames zero-copy and copied; the bitmap is compared
with the pages of the buffers completed.
"""

from demuxlib import BCAST, DEMUX, add_port, delta, load_demux, send
from vhost import PAGE
from zclib import check, check_eq, finish, log, sh
from zcvm import NUM, RESERVE, VM, setup, teardown

MAC_A = "52:54:00:00:02:0a"

nic, idx, sports = setup("vhost_log")
vm = None
try:
    check("a flow for RX queue 0", 0 in sports, str(sports))
    if 0 not in sports:
        finish()
    load_demux(nic)
    vm = VM("zlA", MAC_A, 0, trust=True)    # broadcast: the copy path
    add_port(vm.ifindex, MAC_A)
    ring = {p // PAGE for p in range(vm.vq.used, vm.vq.bufs, PAGE)}

    def logged(what, n, dst, want_counters, size=300):
        """n frames to dst, received with the log cleared before: the
        completed buffers' pages are all logged, and nothing but them and
        the used ring."""
        c0 = vm.counters()
        vm.vq.clear_log()
        seqs = send(n, sports[0], dst, size=size) or []
        got, _ = vm.receive(seqs)
        dirty = vm.vq.dirty_pages()
        pages = {vm.page_of(d) // PAGE for d, _, _ in got.values()}
        check_eq(f"{what}: every frame received", len(got), n)
        check_eq(f"{what}: counted as expected", delta(c0, vm.counters()),
                 want_counters)
        check_eq(f"{what}: every completed buffer's page logged dirty",
                 sorted(pages - dirty), [])
        check_eq(f"{what}: nothing logged but those pages and the used ring",
                 sorted(dirty - pages - ring), [])
        check(f"{what}: the used ring logged", dirty & ring, str(ring))
        log(f"{what}: {len(pages)} buffer pages, {len(dirty)} pages logged")

    # Before logging: the zero-copy path works and the bitmap is unused.
    s = send(100, sports[0], MAC_A)
    got, _ = vm.receive(s)
    check_eq("logging off: frames received", len(got), 100)

    vm.vq.start_log()
    n = 200
    logged("zero copy", n, MAC_A,
           {"rx-zc": n, "redirect-zc": n, "guest-zc": n})
    logged("zero copy, 1514 B", n, MAC_A,
           {"rx-zc": n, "redirect-zc": n, "guest-zc": n}, size=1514)
    n = 50
    logged("copied (broadcast)", n, BCAST,
           {"rx-zc": n, "rx-copy": n, "redirect-copy": n})
    # Twice the ring: completions keep reusing buffers; every round is
    # logged again after the bitmap was cleared (a VMM's next pass).
    for i in range(2):
        n = NUM - RESERVE
        logged(f"pass {i + 2} over the ring", n, MAC_A,
               {"rx-zc": n, "redirect-zc": n, "guest-zc": n})
finally:
    if vm:
        vm.destroy()
    sh(f"bpftool net detach xdpdrv dev {nic}", check_rc=False)
    sh(f"rm -rf {DEMUX}", check_rc=False)
    teardown()

finish()
