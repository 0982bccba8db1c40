#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""XDP demux to VM ports and the TX-raw handoff.

Two VMs, A and B, are stood in for by two taps that this process reads,
and two protection domains (PD a, PD b: memory of this process). PD a is
bound to the RX queue one flow of the host's traffic generator lands on,
PD b to the other queue; tap A is attached to PD a, tap B to PD b. The
demux program (bpf/zc_demux.bpf.o) is loaded and its maps filled with
bpftool, as README.md shows. Then:

 - frames for A on A's queue reach tap A intact, handed over zero-copy
   (redirect-zc), with no copy by the core (rx-copy 0, and no hit on the
   kprobes on the copy routines); with tap A down they are dropped and
   counted in drop-port;
 - PD b trusts its guest (trust-guest), PD a does not (the default);
 - frames for A on B's queue reach A intact, counted as misdirected and
   copied; frames for B on A's queue reach nobody, counted as misdirected;
 - a third tap, C, on PD a, read by vhost-net (selftests/vm/vhost.py
   drives /dev/vhost-net as a VMM would): frames handed over zero-copy
   land in the buffers posted on the virtqueue, copied once by vhost;
 - from B's queue, broadcast reaches A, B and the host port of the
   segment (a veth), an unknown MAC the host stack, redirects to a veth
   and to a cpumap are delivered, all counted as copies; from A's queue
   each is dropped and counted (drop-redirect, drop-pass);
 - a hostile A rewrites its memory with a marker while frames of every
   kind arrive on its queue: neither they nor the marker reach the host
   stack, the veth, B or the wire;
 - A's fdb entry removed, A's tap deleted, the program detached and A's
   queue unbound, each while frames flow: every frame reaches a port or
   is counted as dropped, B keeps receiving, and in the end every page
   is unpinned.
"""

import ctypes
import errno
import gc
import os
import select
import socket
import threading
import time
import types

from demuxlib import (BCAST, DEMUX, MAC_X, add_port, delta, find_sports,
                      frame_seq, le32, load_demux, mac_hex, nic_drops,
                      open_tap, pd_counters as counters, send, send_counted,
                      sent_seq)
from vhost import VhostRx
from zclib import (BPF, COPY_ROUTINES, GUEST_IP, Memory, PIN, Probes, check,
                   check_eq, check_refused, finish, foll_pins,
                   ifindex, kernel_complaints, log, netdev, ok, pd_create,
                   pd_get, pd_ids, pd_test_nic, percpu_sum, sh, status_kb,
                   tg, wait_for)

PAGES = 1024
MAC_A = "52:54:00:00:00:0a"
MAC_B = "52:54:00:00:00:0b"
MAC_C = "52:54:00:00:00:0d"         # VM C: PD a, its tap read by vhost-net
MAC_V = "52:54:00:00:00:0c"         # behind the veth
UNICAST, FLOOD, UNKNOWN, NO_PORT = 0, 1, 2, 3
MARKER = bytes([0xa5]) * 16         # what a hostile A writes in its memory
NO_COPY = f"no copy routine ran ({', '.join(COPY_ROUTINES)})"

nic, idx = pd_test_nic("demux")
sh(f"ip link set {nic} up promisc on")
sh(f"ip addr add {GUEST_IP}/24 dev {nic}", check_rc=False)
sh(f"sysctl -qw net.ipv6.conf.{nic}.disable_ipv6=1")
sh("sysctl -qw net.core.rmem_max=33554432")


class Port:
    """A frame source read in a thread: a tap (a VM) or a packet socket."""

    def __init__(self, name, tap=True, dev=None):
        self.name, self.seqs, self.bad = name, set(), 0
        self.dups = self.marked = 0
        if tap:
            self.fd = open_tap(name)
            self.read = lambda: os.read(self.fd, 65536)
        else:
            self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                      socket.htons(3))  # ETH_P_ALL
            # Frames from XDP come as page-sized skbs: room for a burst.
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
            self.sock.bind((dev, 0))
            self.sock.setblocking(False)
            self.fd = self.sock.fileno()
            self.read = lambda: self.sock.recv(65536)
        self.ifindex = ifindex(dev or name)
        self.lock = threading.Lock()
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                r, _, _ = select.select([self.fd], [], [], 0.2)
                if not r:
                    continue
                while True:
                    buf = self.read()
                    s = frame_seq(buf)
                    with self.lock:
                        self.marked += MARKER in buf
                        if s is None:
                            self.bad += buf.find(b"ZCTG") >= 0
                        else:
                            self.dups += s in self.seqs
                            self.seqs.add(s)
            except BlockingIOError:
                continue
            except OSError:
                return

    def got(self, seqs, wait=10):
        """How many of seqs arrived (waiting up to wait s for all)."""
        seqs = set(seqs)
        wait_for(wait, lambda: seqs <= self.seqs)
        with self.lock:
            return len(seqs & self.seqs)

    def close(self):
        self.stop = True
        self.t.join()
        if hasattr(self, "sock"):
            self.sock.close()
        else:
            os.close(self.fd)


def length_errors():
    with open(f"/sys/class/net/{nic}/statistics/rx_length_errors") as f:
        return int(f.read())


def bpftool(cmd):
    sh(f"bpftool {cmd}")


def stat(key):
    return percpu_sum(f"{DEMUX}/stats", key, "packets")


ports = []
try:
    sports = find_sports(nic)
    check_eq("a flow for each RX queue", sorted(sports), [0, 1])
    if len(sports) != 2:
        finish()
    # The host's tap may hash every tagged frame to one queue, whatever
    # its flow: that queue is A's, for the VLAN checks to see A's drops.
    vsports = find_sports(nic, vlan=7)
    check("a flow tagged VLAN 7 lands on an RX queue", len(vsports) > 0)
    if not vsports:
        finish()
    qa = min(vsports)
    qb = 1 - qa
    sa, sb, sa_vlan = sports[qa], sports[qb], vsports[qa]
    log(f"UDP source port {sa} lands on queue {qa}, {sb} on queue {qb}; "
        f"tagged VLAN 7, port {sa_vlan} on queue {qa}")

    lck0, pins0, complaints0 = status_kb("VmLck"), foll_pins(), \
        kernel_complaints()
    nla, nlb = netdev(), netdev()
    mema, memb = Memory(PAGES), Memory(PAGES)
    # PD a as by default; PD b trusts its guest: copies of its frames may
    # go elsewhere.
    pda = pd_create(nla, [mema.range()])
    pdb = pd_create(nlb, [memb.range()], trust=True)
    nla.do("pd-bind", {"id": pda, "ifindex": idx, "queue-id": qa})
    nlb.do("pd-bind", {"id": pdb, "ifindex": idx, "queue-id": qb})

    A, B = Port("zcA"), Port("zcB")
    sh("ip link add zch0 type veth peer name zch1")
    sh("ip link set zch0 up; ip link set zch1 up; ethtool -K zch1 gro on")
    V = Port("zch1", tap=False, dev="zch1")     # the host side of the veth
    V.ifindex = ifindex("zch0")
    H = Port(nic, tap=False, dev=nic)           # the host stack's view
    ports = [A, B, V, H]

    # --- pd-attach ------------------------------------------------------
    nla.do("pd-attach", {"id": pda, "ifindex": A.ifindex})
    nlb.do("pd-attach", {"id": pdb, "ifindex": B.ifindex})
    ok("pd-attach: tap A to PD a, tap B to PD b")
    check_eq("pd-get lists tap A as a port of PD a",
             pd_get(nla, pda).get("port"), [{"ifindex": A.ifindex}])
    check_refused("attach refused: device without TX-raw", errno.EOPNOTSUPP,
                  "TX-raw", lambda: nla.do("pd-attach", {
                      "id": pda, "ifindex": V.ifindex}))
    check_refused("attach refused: tap already attached", errno.EBUSY,
                  "already attached", lambda: nlb.do("pd-attach", {
                      "id": pdb, "ifindex": A.ifindex}))
    check_refused("detach refused: not attached to this PD", errno.ENOENT,
                  "not attached", lambda: nla.do("pd-detach", {
                      "id": pda, "ifindex": B.ifindex}))
    check_refused("attach refused: no such device", errno.ENODEV,
                  "no such device", lambda: nla.do("pd-attach", {
                      "id": pda, "ifindex": 4242}))

    load_demux(nic)
    add_port(A.ifindex, MAC_A)
    add_port(B.ifindex, MAC_B)
    ok("demux loaded and filled with bpftool")

    # --- A's frames on A's queue: zero copy -------------------------------
    n = 200
    probes = Probes()
    ca, h = counters(nla, pda), probes.hits()
    u0 = stat(UNICAST)
    s = send(n, sa, MAC_A)
    check_eq(f"tap A received all {n} frames for A, intact", A.got(s), n)
    d = delta(ca, counters(nla, pda))
    check_eq("PD a: handed over zero-copy, nothing copied by the core", d,
             {"rx-zc": n, "redirect-zc": n, "port-copy": n})
    check_eq(f"kprobes: {NO_COPY}", probes.since(h), {})
    check_eq("demux counted the unicast frames", stat(UNICAST) - u0, n)
    check_eq("tap B received none of them", B.got(s, 1), 0)

    # --- a port of the PD that does not take the frame: down -----------------
    sh("ip link set zcA down")
    ca = counters(nla, pda)
    s = send(n, sa, MAC_A)
    check_eq("tap A down: none of A's frames reach it", A.got(s, 1), 0)
    check_eq("PD a: each counted as dropped by the port (drop-port)",
             delta(ca, counters(nla, pda)), {"rx-zc": n, "drop-port": n})
    sh("ip link set zcA up")

    # --- misdirected: copied from B's queue, dropped from A's -------------
    ca, cb, h = counters(nla, pda), counters(nlb, pdb), probes.hits()
    s = send(n, sb, MAC_A)
    check_eq("misdirected frames reach tap A intact", A.got(s), n)
    c = probes.since(h)
    check_eq("kprobes: each copied once out of PD b",
             c.get("page_pool_zc_xdp_copy", 0) +
             c.get("page_pool_zc_copy_frame", 0), n)
    check_eq("PD b (trust-guest): counted as misdirected and copied",
             delta(cb, counters(nlb, pdb)),
             {"rx-zc": n, "rx-copy": n, "redirect-copy": n,
              "misdirected": n})
    check_eq("PD a: untouched by B's queue", delta(ca, counters(nla, pda)),
             {})
    ca, cb = counters(nla, pda), counters(nlb, pdb)
    s = send(n, sa, MAC_B)
    check_eq("B's frames on A's queue do not reach tap B", B.got(s, 1), 0)
    check_eq("nor tap A", A.got(s, 1), 0)
    check_eq("PD a: counted as misdirected and dropped, nothing copied",
             delta(ca, counters(nla, pda)), {"rx-zc": n, "misdirected": n})
    check_eq("PD b: untouched by A's queue", delta(cb, counters(nlb, pdb)),
             {})

    # --- B's own frames ------------------------------------------------------
    cb, h = counters(nlb, pdb), probes.hits()
    s = send(n, sb, MAC_B)
    check_eq("tap B received its frames", B.got(s), n)
    check_eq("PD b: zero-copy for B", delta(cb, counters(nlb, pdb)),
             {"rx-zc": n, "redirect-zc": n, "port-copy": n})
    check_eq(f"B's frames, kprobes: {NO_COPY}", probes.since(h), {})

    # --- a tap read by vhost-net's current (copy) path ------------------------
    C = types.SimpleNamespace(fd=open_tap("zcC"), ifindex=ifindex("zcC"))
    vq = VhostRx(C.fd)
    nla.do("pd-attach", {"id": pda, "ifindex": C.ifindex})
    add_port(C.ifindex, MAC_C, segment=False)
    ca, h = counters(nla, pda), probes.hits()
    s = send(n, sa, MAC_C)
    got, end = [], time.time() + 10
    while len(got) < n and time.time() < end:    # the stack's own frames too
        got += [q for q in (frame_seq(f) for _, f in
                            vq.frames(n - len(got), timeout=1))
                if q is not None]
    check("vhost-net: every frame for C in the guest's buffers, intact",
          got == list(s), f"{len(got)} of {n}, first {got[:3]}")
    check_eq("PD a: zero-copy to C's tap, copied once by vhost-net",
             delta(ca, counters(nla, pda)),
             {"rx-zc": n, "redirect-zc": n, "port-copy": n})
    check_eq("kprobes: read from the tap by vhost-net, no other copy",
             probes.since(h), {"tun_recvmsg": n})
    vq.close()
    os.close(C.fd)

    # --- broadcast: A, B and the host port of the segment --------------------
    bpftool(f"map update pinned {DEMUX}/ports key {le32(V.ifindex)} "
            f"value {le32(V.ifindex)}")
    bpftool(f"map update pinned {DEMUX}/seg0 key {le32(V.ifindex)} "
            f"value {le32(V.ifindex)}")
    cb, f0 = counters(nlb, pdb), stat(FLOOD)
    m = 50
    s = send(m, sb, BCAST)
    check_eq("broadcast on B's queue reaches A", A.got(s), m)
    check_eq("and B", B.got(s), m)
    if not check_eq("and the host port of the segment", V.got(s), m):
        log(f"missing {sorted(set(s) - V.seqs)}")
        log(sh("ip -s link show zch1; ethtool -S zch0; ethtool -S zch1"))
    check_eq("PD b (trust-guest): broadcast copied once per frame",
             delta(cb, counters(nlb, pdb)),
             {"rx-zc": m, "rx-copy": m, "redirect-copy": m})
    check_eq("demux counted the broadcast", stat(FLOOD) - f0, m)

    ca = counters(nla, pda)
    s = send(m, sa, BCAST)
    check_eq("broadcast on A's queue reaches none of A, B, the host port",
             (A.got(s, 1), B.got(s, 1), V.got(s, 1)), (0, 0, 0))
    s2 = send(m, sa_vlan, BCAST, vlan=7)
    check_eq("nor, on a VLAN without a segment, the host stack or a VM",
             (H.got(s2, 1), A.got(s2, 1), B.got(s2, 1)), (0, 0, 0))
    check_eq("PD a: dropped (drop-redirect, drop-pass), nothing copied",
             delta(ca, counters(nla, pda)),
             {"rx-zc": 2 * m, "drop-redirect": m, "drop-pass": m})

    # --- unknown MAC: host stack -----------------------------------------
    cb, k0 = counters(nlb, pdb), stat(UNKNOWN)
    s = send(m, sb, MAC_X)
    check_eq("unknown MAC on B's queue reaches the host stack", H.got(s), m)
    check_eq("demux counted it unknown", stat(UNKNOWN) - k0, m)
    check_eq("PD b: passed up as a copy", delta(cb, counters(nlb, pdb)),
             {"rx-zc": m, "rx-copy": m})
    ca = counters(nla, pda)
    s = send(m, sa, MAC_X)
    check_eq("unknown MAC on A's queue does not", H.got(s, 1), 0)
    check_eq("PD a: dropped (drop-pass)", delta(ca, counters(nla, pda)),
             {"rx-zc": m, "drop-pass": m})

    # --- redirect to a veth, and to a cpumap ---------------------------------
    add_port(V.ifindex, MAC_V, segment=False)
    cb = counters(nlb, pdb)
    s = send(m, sb, MAC_V)
    check_eq("redirect to a veth from B's queue: delivered intact", V.got(s),
             m)
    check_eq("PD b: veth redirect counted as copies",
             delta(cb, counters(nlb, pdb)),
             {"rx-zc": m, "rx-copy": m, "redirect-copy": m})
    ca = counters(nla, pda)
    s = send(m, sa, MAC_V)
    check_eq("from A's queue: not delivered", V.got(s, 1), 0)
    check_eq("PD a: veth redirect dropped (drop-redirect)",
             delta(ca, counters(nla, pda)), {"rx-zc": m, "drop-redirect": m})

    prog, maps = f"{PIN}/demux_cpu", f"{PIN}/demux_cpu_maps"
    sh(f"rm -rf {prog} {maps}")
    bpftool(f"prog load {BPF}/xdp_count.bpf.o {prog} type xdp pinmaps {maps}")
    bpftool(f"map update pinned {maps}/cpus key 0 0 0 0 value {le32(256)} "
            f"0 0 0 0")
    bpftool(f"map update pinned {maps}/config key 0 0 0 0 value 5 0 0 0 "
            f"0 0 0 0")                      # XDP_COUNT_TO_CPU, CPU 0
    bpftool(f"net attach xdpdrv pinned {prog} dev {nic} overwrite")
    cb = counters(nlb, pdb)
    s = send(m, sb, MAC_X)
    check_eq("redirect to a cpumap from B's queue: delivered to the host "
             "stack intact", H.got(s), m)
    check_eq("PD b: cpumap redirect counted as copies",
             delta(cb, counters(nlb, pdb)),
             {"rx-zc": m, "rx-copy": m, "redirect-copy": m})
    ca = counters(nla, pda)
    s = send(m, sa, MAC_X)
    check_eq("from A's queue: not delivered", H.got(s, 1), 0)
    check_eq("PD a: cpumap redirect dropped (drop-redirect)",
             delta(ca, counters(nla, pda)), {"rx-zc": m, "drop-redirect": m})
    bpftool(f"net attach xdpdrv pinned {DEMUX}/prog dev {nic} overwrite")
    sh(f"rm -rf {prog} {maps}")

    # --- a hostile A: its memory rewritten while frames arrive ---------------
    # A writes MARKER over every page of PD a in a loop, as a guest may at
    # any time. Frames of every kind arrive on A's queue; none may leave
    # for anywhere but A: the host stack, the veth, B and the wire must see
    # neither a frame of them nor the marker.
    stop = threading.Event()
    passes = [0]

    def scribble():
        while not stop.is_set():
            ctypes.memset(mema.addr, MARKER[0], mema.size)
            passes[0] += 1

    for p in ports:
        p.marked = 0
    ca, len0 = counters(nla, pda), length_errors()
    tg({"cmd": "capture-start", "marker": MARKER.hex()})
    t = threading.Thread(target=scribble, daemon=True)
    t.start()
    wait_for(5, lambda: passes[0] >= 3)
    sent = {d: send(m, sa, d) for d in (MAC_B, MAC_V, MAC_X, BCAST, MAC_A)}
    stop.set()
    t.join()
    check("hostile A: its memory rewritten all along",
          passes[0] > 3 and MARKER in bytes(mema.map), f"{passes[0]} passes")
    cap = tg({"cmd": "capture-stop"})
    allq = [q for r in sent.values() for q in r]
    check_eq("hostile A: none of its queue's frames reached the host stack, "
             "the veth or B", (H.got(allq, 1), V.got(allq, 1), B.got(allq, 1)),
             (0, 0, 0))
    check_eq("hostile A: nor the wire (host side of the NIC)",
             (cap.get("ok"), [q for q in cap.get("seqs", []) if q in allq]),
             (True, []))
    check_eq("hostile A: its marker reached none of them",
             (H.marked, V.marked, B.marked, cap.get("marker")), (0, 0, 0, 0))
    # XDP reads the headers A rewrites, so the reason a frame is dropped
    # for is A's to choose; that every frame went to A or was dropped is not.
    d = delta(ca, counters(nla, pda))
    drops = {k: d.get(k, 0) for k in ("misdirected", "drop-redirect",
                                      "drop-pass", "drop-tx")}
    # A rewrites the virtio-net header too: a frame whose num_buffers it
    # raised is a length error, and the driver drops as many buffers
    # after it before the PD counts them; A harms only its own queue.
    bad_len = length_errors() - len0
    rx = d.get("rx-zc", 0)
    check_eq("hostile A: every frame its PD received went to A or was "
             "dropped and counted, none copied",
             (d.get("redirect-zc", 0) + sum(drops.values()),
              d.get("rx-copy", 0), rx + bad_len <= len(allq)), (rx, 0, True))
    log(f"hostile A: {rx} of {len(allq)} received, "
        f"{d.get('redirect-zc', 0)} to A, dropped {drops}, {bad_len} "
        f"length errors")
    log(f"hostile A: {passes[0]} passes over its memory; tap A got "
        f"{A.got(sent[MAC_A])} of its {m} frames intact, {A.marked} with "
        f"its marker")
    check_eq("no port got a frame twice", [p.name for p in ports if p.dups],
             [])
    # A damages its own frames as it rewrites its memory; nobody else's.
    check_eq("no port but A got a damaged frame",
             [p.name for p in ports if p.bad and p is not A], [])
    check_eq("no port got a frame that was not sent",
             [p.name for p in ports if p.seqs and max(p.seqs) >= sent_seq()],
             [])

    # --- teardown while frames flow ------------------------------------------
    everywhere = list(ports)

    def under_flow(what, action, sport=sa, dst=MAC_A, count=1500,
                   before=A, after=None, slack=0, why="", gone=False):
        """action while a flow arrives. The host's tap sends every frame;
        port before gets the flow's first 100 frames, port after (if any)
        its last 100; each frame reached one port (tap, veth, the host
        stack) or was dropped, a PD counting the reason, and the NIC's
        driver (ethtool -S) counted no drop the PDs did not; but for up
        to slack frames, why (those a restarting queue held). If gone
        (the action deletes tap A): but for those tap A took (PD a's
        redirect-zc) and was deleted with, unread."""
        res = []
        c0 = (counters(nla, pda), counters(nlb, pdb))
        d0 = nic_drops(nic)
        flow = threading.Thread(target=lambda: res.extend(send_counted(
            count, sport, dst, pps=1500)))
        flow.start()
        time.sleep(0.4)
        action()
        flow.join()
        s, lost = res
        check_eq(f"{what} while frames flow: the host's tap sent all "
                 f"{count}", (s is not None, lost), (True, 0))
        s = s or range(0)
        edge = [(p, part) for p, part in ((before, s[:100]),
                                          (after, s[-100:])) if p]
        check_eq(f"{what}: the first 100 frames reached "
                 f"{before.name if before else 'no port'}, the last 100 "
                 f"{after.name if after else 'no port'}",
                 [p.got(part) for p, part in edge], [100] * len(edge))
        drops = sum(v for c, pd in zip(c0, ((nla, pda), (nlb, pdb)))
                    for k, v in delta(c, counters(*pd)).items()
                    if k.startswith("drop-") or k == "misdirected")
        at = {p.name: len(p.seqs & set(s)) for p in everywhere}
        d = nic_drops(nic) - d0
        log(f"{what}: {at}, PD drops {drops}, NIC drops {d}")
        lost = count - sum(at.values()) - drops
        if gone:
            unread = delta(c0[0], counters(nla, pda)).get(
                "redirect-zc", 0) - at[A.name]
            check(f"{what}: each frame reached one port or a PD counted why "
                  "it was dropped, but for those tap A took and went with",
                  0 <= lost <= unread, f"{lost} lost, {unread} taken "
                  f"unread; the NIC's driver dropped {d}, the PDs {drops}")
            return
        check(f"{what}: each frame reached one port or a PD counted why it "
              "was dropped" + (f", but for at most {slack} {why}"
                               if slack else ""),
              0 <= lost and lost + max(d - drops, 0) <= slack,
              f"{lost} lost, the NIC's driver dropped {d}, the PDs {drops}")

    def b_unaffected(what):
        cb = counters(nlb, pdb)
        s = send(100, sb, MAC_B)
        check_eq(f"after {what}: B receives all its frames", B.got(s), 100)
        check_eq(f"after {what}: and zero-copy",
                 delta(cb, counters(nlb, pdb)).get("redirect-zc"), 100)

    under_flow("remove A's fdb entry", lambda: bpftool(
        f"map delete pinned {DEMUX}/fdb key hex {mac_hex(MAC_A)} 00 00"))
    b_unaffected("A's fdb entry removed")
    add_port(A.ifindex, MAC_A)

    # A reads until its tap is gone: only what the tap still held then
    # goes with it, unread, as with any tap.
    under_flow("delete tap A", lambda: sh("ip link del zcA"), gone=True)
    A.close()
    ports.remove(A)
    check_eq("tap deleted: PD a has no port", pd_get(nla, pda).get("port"),
             None)
    b_unaffected("tap A deleted")

    under_flow("detach the program", lambda: bpftool(
        f"net detach xdpdrv dev {nic}"), sport=sb, dst=MAC_B, before=B,
        after=H)
    bpftool(f"net attach xdpdrv pinned {DEMUX}/prog dev {nic}")
    b_unaffected("the program detached and attached again")

    under_flow("unbind A's queue", lambda: nla.do("pd-unbind", {
        "id": pda, "ifindex": idx, "queue-id": qa}), before=None, after=H,
        slack=16, why="as the queue restarted")
    check_eq("PD a: every page back after unbind",
             wait_for(5, lambda: pd_get(nla, pda)["posted"] == PAGES) and
             PAGES, PAGES)
    b_unaffected("A's queue unbound")

    # --- the end: every page unpinned ----------------------------------------
    nlb.do("pd-detach", {"id": pdb, "ifindex": B.ifindex})
    check_eq("pd-detach: PD b has no port", pd_get(nlb, pdb).get("port"),
             None)
    del nla, nlb
    gc.collect()
    watcher = netdev()
    check("PDs gone once their sockets closed", wait_for(
        10, lambda: not {pda, pdb} & set(pd_ids(watcher))))
    check_eq("every page unpinned (VmLck back)",
             wait_for(5, lambda: status_kb("VmLck") == lck0) and
             status_kb("VmLck"), lck0)
    check_eq("every page unpinned (nr_foll_pin back)",
             wait_for(5, lambda: foll_pins() == pins0) and
             foll_pins() - pins0, 0)
    check_eq("no complaint in the kernel log",
             [x for x in kernel_complaints() if x not in complaints0], [])
finally:
    for p in ports:
        p.close()
    sh(f"bpftool net detach xdpdrv dev {nic}", check_rc=False)
    sh(f"rm -rf {DEMUX}; ip link del zch0", check_rc=False)
    sh(f"ip link set {nic} promisc off", check_rc=False)
    sh(f"ip addr del {GUEST_IP}/24 dev {nic}", check_rc=False)

finish()
