#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""vhost-net zero-copy RX: frames received in place in the guest's buffers.

Two userspace VMs, A and B (selftests/vm/vhost.py: guest memory, a split
virtqueue and vhost-net on a tap, all in this process), post RX buffers of
the page layout. Each VM's buffer area is a protection domain in page
mode (PD a, PD b) bound to one RX queue of the virtio NIC; its tap is
attached to it; zc_demux sends each VM's MAC to its tap. Then:

 - zero copy: frames for A appear in A's used ring, intact, each in the
   buffer whose page the NIC wrote, completed out of order; guest-zc =
   frames, nothing copied, and no copy routine ran (kprobe hit counts);
 - copy fallback: frames for A arriving on B's queue (PD b trusts its
   guest), broadcast there, and a virtqueue posting buffers of another
   layout: delivered intact, copied; frames for B and broadcast on A's
   queue (PD a does not): dropped and counted;
 - starvation: A stops posting; only A's queue starves (counted), B keeps
   receiving everything; A recovers when it posts again;
 - a hostile guest: bytes rewritten while frames are in flight, buffers
   outside its PD, overlapping and duplicate buffers, an address outside
   its memory: refused and counted, nothing of B reaches A, B unaffected;
 - teardown under traffic: queue unbound, program detached, tap deleted
   (A gets its buffers back, empty), a PD's owner gone while its VMM is
   idle (its pages unpinned at once), and a VMM killed with frames in
   flight;
 - a VMM that discards pages of posted buffers (MADV_DONTNEED, as for a
   balloon): frames the NIC wrote into them reach the guest intact, copied
   to the pages mapped there now, and once the guest posts them again
   they are received in place into the new pages;
 - in the end every page is unpinned and the kernel log is clean.
"""

import ctypes
import mmap
import os
import signal
import struct
import threading
import time

from demuxlib import (BCAST, DEMUX, add_port, delta, frame_seq, load_demux,
                      nic_drops, send, send_counted)
from vhost import DATA_OFFSET, HDR_LEN, PAGE
from zclib import (COPY_ROUTINES, Probes, check, check_eq, finish, foll_pins,
                   ifindex, kernel_complaints, log, netdev, pd_get, pd_ids,
                   sh, wait_for)
from zcvm import NUM, RESERVE, VM, close_all, setup, teardown

MAC_A = "52:54:00:00:01:0a"
MAC_B = "52:54:00:00:01:0b"
MAC_C = "52:54:00:00:01:0c"         # A's second virtqueue, stock buffers
MAC_D = "52:54:00:00:01:0d"         # the VMM that gets killed
MAC_E = "52:54:00:00:01:0e"         # the VMM whose PD's owner goes
MAC_F = "52:54:00:00:01:0f"         # the VMM that discards guest pages

nic, idx, sports = setup("vhost_zc")

vms = []
try:
    check_eq("a flow for each RX queue", sorted(sports), [0, 1])
    if len(sports) != 2:
        finish()
    qa, qb = 0, 1
    sa, sb = sports[qa], sports[qb]
    log(f"UDP source port {sa} lands on queue {qa}, {sb} on queue {qb}")
    pins0, complaints0 = foll_pins(), kernel_complaints()
    probes = Probes()
    NO_COPY = f"no copy routine ran (kprobes: {', '.join(COPY_ROUTINES)})"

    load_demux(nic)
    A = VM("zvA", MAC_A, qa)
    B = VM("zvB", MAC_B, qb, trust=True)    # its copies may go to A
    vms = [A, B]
    add_port(A.ifindex, MAC_A)
    add_port(B.ifindex, MAC_B)

    def in_place(what, vm, sport, n=100):
        """n frames for vm: every one received, intact, and none copied."""
        h = probes.hits()
        s = send(n, sport, vm.mac)
        got, _ = vm.receive(s)
        check_eq(f"{what}: {vm.name} receives every frame", len(got), n)
        check_eq(f"{what}: in place, {NO_COPY}", probes.since(h), {})

    # --- posting ---------------------------------------------------------
    check("A's page-layout buffers posted into PD a, a reserve kept",
          wait_for(5, lambda: A.info()["posted"] + A.info()["inflight"] ==
                   NUM - RESERVE), str(A.info()))
    check("B's too", wait_for(5, lambda: B.info()["posted"] +
                              B.info()["inflight"] == NUM - RESERVE),
          str(B.info()))

    # --- zero copy ---------------------------------------------------------
    first = None
    for size in (300, 64, 1514):
        n = 200
        ca, h = A.counters(), probes.hits()
        s = send(n, sa, MAC_A, size=size)
        got, _ = A.receive(s)
        check_eq(f"{size} B: every frame for A in A's used ring, intact",
                 len(got), n)
        check_eq(f"{size} B: {NO_COPY}", probes.since(h), {})
        check_eq(f"{size} B: PD a: received, handed over and completed in "
                 "place, nothing copied", delta(ca, A.counters()),
                 {"rx-zc": n, "redirect-zc": n, "guest-zc": n})
        if first is None:
            first = [got[q][0] for q in s if q in got]
    ids = [got[q][0] for q in s]
    check_eq("each frame completed its own descriptor", len(set(ids)), n)
    hdrs = {got[q][1] for q in s}
    check_eq("vhost-net wrote the virtio-net header: num_buffers 1, no "
             "flags", hdrs, {bytes(10) + struct.pack("<H", 1)})
    # vhost-net posted the pages of A's first NUM - RESERVE buffers to PD
    # a; a copy would have taken the next buffers of the avail ring, in
    # ring order, starting with the reserve.
    check("first burst: each frame completed a buffer whose page vhost-net "
          "had posted to the NIC, in the order the NIC used the pages",
          first and max(first) < NUM - RESERVE and first != sorted(first),
          str(first[:8]))
    h = probes.hits()
    s = send(100, sb, MAC_B)
    got, _ = B.receive(s)
    check_eq("B receives its frames zero-copy too", len(got), 100)
    check_eq(f"B's frames: {NO_COPY}", probes.since(h), {})
    got, other = A.receive([], timeout=1)
    check_eq("and A none of them",
             [x for x in other if frame_seq(x[2]) in s], [])

    # --- copy fallback -------------------------------------------------------
    n = 100
    ca, cb, h = A.counters(), B.counters(), probes.hits()
    s = send(n, sb, MAC_A)
    got, _ = A.receive(s)
    check_eq("frames for A on B's queue reach A intact", len(got), n)
    c = probes.since(h)
    check_eq("kprobes: each copied once out of PD b, then read from the tap "
             "by vhost-net", (c.pop("page_pool_zc_xdp_copy", 0) +
                              c.pop("page_pool_zc_copy_frame", 0), c), (
                                  n, {"tun_recvmsg": n}))
    check_eq("PD b (trust-guest): misdirected, copied",
             delta(cb, B.counters()),
             {"rx-zc": n, "rx-copy": n, "redirect-copy": n,
              "misdirected": n})
    check_eq("PD a: nothing completed in place for them",
             delta(ca, A.counters()), {})

    ca, cb = A.counters(), B.counters()
    s = send(n, sa, MAC_B)
    got, _ = B.receive(s, timeout=2)
    check_eq("frames for B on A's queue do not reach B", len(got), 0)
    check_eq("PD a (no trust-guest): counted as misdirected, dropped, "
             "nothing copied", delta(ca, A.counters()),
             {"rx-zc": n, "misdirected": n})

    ca, cb = A.counters(), B.counters()
    s = send(n, sb, BCAST)
    got, _ = A.receive(s)
    check_eq("broadcast on B's queue reaches A", len(got), n)
    got, _ = B.receive(s)
    check_eq("and B", len(got), n)
    check_eq("PD b (trust-guest): broadcast copied once per frame",
             delta(cb, B.counters()),
             {"rx-zc": n, "rx-copy": n, "redirect-copy": n})
    ca = A.counters()
    s = send(n, sa, BCAST)
    got, _ = A.receive(s, timeout=2)
    check_eq("broadcast on A's queue reaches neither A", len(got), 0)
    got, _ = B.receive(s, timeout=1)
    check_eq("nor B", len(got), 0)
    check_eq("PD a: broadcast dropped (drop-redirect), nothing copied",
             delta(ca, A.counters()), {"rx-zc": n, "drop-redirect": n})

    C = VM("zvC", MAC_C, None, page=False, pd=A.pd, nl=A.nl)
    vms.append(C)
    add_port(C.ifindex, MAC_C, segment=False)
    ca, h = A.counters(), probes.hits()
    s = send(n, sa, MAC_C)
    got, _ = C.receive(s)
    check_eq("buffers of another layout: frames delivered intact", len(got),
             n)
    check_eq("kprobes: read from the tap by vhost-net, no other copy",
             probes.since(h), {"tun_recvmsg": n})
    check_eq("PD a: handed to the tap zero-copy, copied by vhost-net",
             delta(ca, A.counters()),
             {"rx-zc": n, "redirect-zc": n, "port-copy": n})

    # --- starvation and recovery --------------------------------------------
    st = A.starved()
    s = send(NUM + 200, sa, MAC_A, pps=2000, lossy=True)
    got, _ = A.receive(s, timeout=4, repost=False)
    check_eq("A stops posting: it receives what it had posted, no more",
             len(got), NUM - RESERVE)
    check("PD a: its queue starved, counted", A.starved() > st,
          f"{st} -> {A.starved()}")
    s = send(300, sb, MAC_B)
    got, _ = B.receive(s)
    check_eq("B meanwhile receives every frame", len(got) if s else 0, 300)
    A.post_held()
    A.receive([], timeout=2)        # what the NIC and the tap still held
    s = send(200, sa, MAC_A)
    got, _ = A.receive(s)
    check_eq("A posts again: it receives every frame again", len(got), 200)

    # --- a hostile guest ----------------------------------------------------
    stop = threading.Event()

    def scribble():
        buf = os.urandom(PAGE)
        while not stop.is_set():
            for i in range(NUM):
                p = A.vq.bufs + i * PAGE
                A.vq.m[p:p + PAGE] = buf

    t = threading.Thread(target=scribble, daemon=True)
    t.start()
    sb_seqs = send(300, sb, MAC_B)
    sa_seqs = send(300, sa, MAC_A)
    stop.set()
    t.join()
    got, _ = B.receive(sb_seqs)
    check_eq("A rewriting its buffers while frames fly: B gets all its "
             "frames, intact", len(got), 300)
    got, other = A.receive(sa_seqs, timeout=3)
    check_eq("nothing of B reaches A", [x for x in other
                                        if frame_seq(x[2]) in sb_seqs], [])
    log(f"A received {len(got)} of its 300 frames intact while rewriting")

    def refused(what, bad):
        """Post bad (descriptor ids set up by the caller) ahead of RESERVE
        good buffers: posting stops at it, counted once; a broadcast then
        for A from B's queue (PD b trusts its guest) takes it on the copy
        path."""
        c0 = A.counters()
        A.receive([], timeout=1)
        good, stock[:] = stock[:RESERVE], stock[RESERVE:]
        A.vq.post(bad + good)
        ok_ = wait_for(5, lambda: A.counters()["post-refused"] ==
                       c0["post-refused"] + 1)
        check(f"{what}: refused and counted", ok_,
              str(delta(c0, A.counters())))
        s = send(len(bad), sb, MAC_A)
        got, _ = A.receive(s, repost=False)
        check_eq(f"{what}: the buffer serves the copy path instead",
                 len(got), len(bad))

    # Buffers to play with: A completes frames and keeps the buffers.
    s = send(4 * RESERVE + 8, sa, MAC_A)
    A.receive(s, repost=False)
    stock, A.held = A.held, []
    d = stock.pop()
    A.vq.set_desc(d, A.vq.spare + DATA_OFFSET - HDR_LEN,
                  PAGE - DATA_OFFSET + HDR_LEN)
    refused("a buffer outside the PD", [d])
    d1, d2 = stock.pop(), stock.pop()
    A.vq.set_desc(d2, A.vq.buf_addr(d1), A.vq.buf_len())
    refused("two buffers on one page", [d1, d2])
    A.vq.set_desc(d2, A.vq.buf_addr(d2), A.vq.buf_len())
    d = stock.pop()
    refused("one descriptor posted twice", [d, d])
    d = stock.pop()
    A.vq.set_desc(d, A.vq.mem.size + (1 << 30), A.vq.buf_len())
    A.vq.post([d] + stock)
    s = send(100, sb, MAC_B)
    got, _ = B.receive(s)
    check_eq("an address outside A's memory: A's queue stops, B keeps "
             "receiving", len(got), 100)
    A.close()
    vms.remove(A)
    A.nl.do("pd-unbind", {"id": A.pd, "ifindex": idx, "queue-id": qa})

    # A again, on a new vhost-net and a new PD.
    A = VM("zvA2", MAC_A, qa)
    vms.append(A)
    add_port(A.ifindex, MAC_A)
    in_place("a new VM on the same queue", A, sa)

    # --- teardown under traffic ---------------------------------------------
    def under_flow(what, action, count=1500, pps=1500, after=True, slack=0,
                   why="", gone=False):
        """action while A receives a flow and posts its buffers again. The
        host's tap sends every frame; A gets the flow's first frames,
        which arrive before the action, and if after, its last ones; none
        twice or damaged; each frame that did not reach A was dropped, PD
        a counting the reason, and the NIC's driver (ethtool -S) counted
        no drop PD a did not; but for up to slack frames, why (those a
        restarting queue held). If gone (the action deletes A's tap): but
        for those the tap took (PD a's redirect-zc) and was deleted with,
        unread. Returns the completions A saw meanwhile."""
        seen, res = [], []
        c0, d0 = A.counters(), nic_drops(nic)
        flow = threading.Thread(target=lambda: res.extend(send_counted(
            count, sa, MAC_A, pps=pps)))
        drain = threading.Thread(target=lambda: seen.extend(
            A.receive([], timeout=2)[1]))
        flow.start()
        drain.start()
        time.sleep(0.4)
        action()
        flow.join()
        drain.join()
        s, lost = res
        check_eq(f"{what} while frames flow: the host's tap sent all "
                 f"{count}", (s is not None, lost), (True, 0))
        s = s or range(0)
        seqs = [frame_seq(f) for _, _, f in seen if f]
        mine = set(seqs) & set(s)
        check_eq(f"{what}: A got the flow's first 100 frames, sent before "
                 "it" + (", and its last 100" if after else ""),
                 (len(mine & set(s[:100])),
                  len(mine & set(s[-100:])) if after else 0),
                 (100, 100 if after else 0))
        check_eq(f"{what}: nothing damaged, twice or not sent reached A",
                 len(seqs), len(mine))
        c, d = delta(c0, A.counters()), nic_drops(nic) - d0
        drops = sum(v for k, v in c.items() if k.startswith("drop-"))
        log(f"{what}: {len(mine)} of {count} to A, PD a {c}, NIC drops {d}")
        lost = count - len(mine) - drops
        if gone:
            unread = c.get("redirect-zc", 0) - len(mine)
            check(f"{what}: each frame reached A or PD a counted why it was "
                  "dropped, but for those the tap took and went with",
                  0 <= lost <= unread, f"{lost} lost, {unread} taken "
                  f"unread; the NIC's driver dropped {d}, PD a {drops}")
            return seen
        check(f"{what}: each frame reached A or PD a counted why it was "
              "dropped" + (f", but for at most {slack} {why}"
                           if slack else ""),
              0 <= lost and lost + max(d - drops, 0) <= slack,
              f"{lost} lost, the NIC's driver dropped {d}, PD a {drops}")
        return seen

    def b_unaffected(what):
        cb = B.counters()
        in_place(f"after {what}", B, sb)
        check_eq(f"after {what}: PD b counts them completed in place",
                 delta(cb, B.counters()).get("guest-zc"), 100)

    under_flow("unbind A's queue", lambda: A.nl.do("pd-unbind", {
        "id": A.pd, "ifindex": idx, "queue-id": qa}), slack=16,
        why="as the queue restarted")
    A.receive([], timeout=2)        # A posts what it has not posted yet
    check("unbound: the pages the queue held are posted again",
          wait_for(10, lambda: A.info()["inflight"] == 0 and
                   A.info()["posted"] == NUM - RESERVE), str(A.info()))
    b_unaffected("A's queue unbound")
    A.nl.do("pd-bind", {"id": A.pd, "ifindex": idx, "queue-id": qa})
    in_place("bound again", A, sa)

    under_flow("detach the program", lambda: sh(
        f"bpftool net detach xdpdrv dev {nic}"), after=False)
    sh(f"bpftool net attach xdpdrv pinned {DEMUX}/prog dev {nic}")
    b_unaffected("the program detached and attached again")
    in_place("attached again", A, sa)

    # Fewer frames than A has posted: some are still posted when the tap
    # goes, however fast A posts again.
    seen = under_flow("delete A's tap", lambda: sh("ip link del zvA2"),
                      count=NUM // 2, pps=300, after=False, gone=True)
    A.vq.kick_now()
    check("tap deleted: PD a takes back every page from its queue",
          wait_for(10, lambda: A.info()["posted"] == 0 and
                   A.info()["inflight"] == 0), str(A.info()))
    seen += A.receive([], timeout=2)[1]
    check("A gets the buffers that were posted back, empty",
          [f for _, _, f in seen if not f], str(len(seen)))
    check_eq("no buffer lost: vhost-net completed every one it took",
             A.vq.stop(), 0)
    b_unaffected("A's tap deleted")

    # The PD's owner goes while its VMM's vhost-net is idle: the tap
    # leaves the PD, and vhost-net lets go of it with no frame or kick.
    pins1 = foll_pins()
    E = VM("zvE", MAC_E, None)
    vms.append(E)
    check("E (no queue bound): its buffers posted", wait_for(
        5, lambda: E.info()["posted"] == NUM - RESERVE), str(E.info()))
    E.nl.sock.close()
    check_eq("E's PD owner gone, vhost-net idle: every page unpinned "
             "(nr_foll_pin back)", wait_for(3, lambda: foll_pins() == pins1)
             and foll_pins() - pins1, 0)
    back = E.vq.used_entries(NUM, timeout=1, repost=False)
    check_eq("and E gets every posted buffer back, empty",
             (len(back), [d for d, _, f in back if f]), (NUM - RESERVE, []))
    vms.remove(E)
    E.close()

    # A VMM killed while frames are in flight.
    A.nl.do("pd-unbind", {"id": A.pd, "ifindex": idx, "queue-id": qa})
    r, w = os.pipe()
    d_got = mmap.mmap(-1, 8)        # frames D received, seen from here
    pid = os.fork()
    if pid == 0:
        os.close(r)
        D = VM("zvD", MAC_D, qa)
        os.write(w, struct.pack("I", D.pd))
        while True:
            n = len([f for _, _, f in D.receive([], timeout=0.2)[1] if f])
            struct.pack_into("Q", d_got, 0, struct.unpack_from(
                "Q", d_got)[0] + n)
    os.close(w)
    pdd = struct.unpack("I", os.read(r, 4))[0]
    os.close(r)
    add_port(ifindex("zvD"), MAC_D)
    watcher = netdev()
    check("VMM D: its buffers posted", wait_for(
        10, lambda: pd_get(watcher, pdd)["posted"] +
        pd_get(watcher, pdd)["inflight"] == NUM - RESERVE))

    def kill():
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)

    res = []
    flow = threading.Thread(target=lambda: res.extend(send_counted(
        1500, sa, MAC_D, pps=1500)))
    flow.start()
    check("VMM D receives the flow", wait_for(
        5, lambda: struct.unpack_from("Q", d_got)[0] >= 100),
        str(struct.unpack_from("Q", d_got)[0]))
    kill()
    flow.join()
    check_eq("VMM D killed while frames flow: the host's tap sent all 1500",
             (res[0] is not None, res[1]), (True, 0))
    check("its PD gone: every page unpinned", wait_for(
        10, lambda: pdd not in pd_ids(watcher)))
    b_unaffected("VMM D killed")

    # --- the VMM discards guest pages of posted buffers -----------------------
    # As a balloon or free page reporting does: the guest's next access to
    # such a page faults in a new one, while the NIC writes the old one.
    F = VM("zvF", MAC_F, qa)
    vms.append(F)
    add_port(F.ifindex, MAC_F)
    check("F: its buffers posted", wait_for(5, lambda: F.info()["posted"] +
                                            F.info()["inflight"] ==
                                            NUM - RESERVE), str(F.info()))
    half = (NUM - RESERVE) // 2
    pins1, cf = foll_pins(), F.counters()
    # A quarter discarded (MADV_DONTNEED), a quarter mapped over afresh.
    F.vq.m.madvise(mmap.MADV_DONTNEED, F.vq.bufs, half // 2 * PAGE)
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long)
    at = F.vq.mem.addr + F.vq.bufs + half // 2 * PAGE
    check_eq("F maps fresh memory over another quarter (MAP_FIXED)",
             libc.mmap(at, half // 2 * PAGE, mmap.PROT_READ | mmap.PROT_WRITE,
                       mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | 0x10, -1, 0),
             at)                                # 0x10: MAP_FIXED
    # As many frames as F posted: one in each posted page.
    n = NUM - RESERVE
    s = send(n, sa, MAC_F)
    got, _ = F.receive(s, repost=False)
    check_eq(f"F dropped the pages of buffers 0-{half - 1}: it reads "
             "every frame intact", len(got), n)
    check_eq("each completed its own buffer, those on discarded pages too",
             sorted(d for d, _, _ in got.values()), list(range(n)))
    check_eq("PD f: discarded pages counted; the frames in them copied to "
             "the new pages, the rest completed in place",
             delta(cf, F.counters()), {"rx-zc": n, "redirect-zc": n,
                                       "discarded": half, "port-copy": half,
                                       "guest-zc": n - half})
    F.post_held()
    check("F posts them again: every buffer posted, on its new page",
          wait_for(5, lambda: F.info()["posted"] + F.info()["inflight"] ==
                   NUM - RESERVE), str(F.info()))
    cf, h = F.counters(), probes.hits()
    s = send(n, sa, MAC_F)
    got, _ = F.receive(s, repost=False)
    ds = {d for d, _, _ in got.values()}
    check_eq("F reads every frame that follows intact, each in its own "
             "buffer", (len(got), len(ds)), (n, n))
    check("buffers on its dropped pages among them (the reserve aside)",
          len([d for d in ds if d < half]) >= half - RESERVE, str(sorted(ds)))
    check_eq(f"all in place: PD f counts them completed in place, "
             f"{NO_COPY}", (delta(cf, F.counters()), probes.since(h)),
             ({"rx-zc": n, "redirect-zc": n, "guest-zc": n}, {}))
    check_eq("every old page unpinned as its new one was pinned "
             "(nr_foll_pin unchanged)", foll_pins() - pins1, 0)

    # --- the end -------------------------------------------------------------
    check_eq("B stopped: vhost-net completed every buffer it took",
             B.vq.stop(), 0)
    del A, B, C
    close_all(vms, watcher, pins0, complaints0)
finally:
    teardown(vms)

finish()
