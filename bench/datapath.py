#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Cost of receiving a frame into a VM, side by side in one run.

Runs in the test VM booted with one vCPU and -icount shift=0,sleep=off
(bench/datapath.sh): the guest clock then advances one nanosecond per
instruction while the vCPU runs. A halted vCPU's clock, though, jumps
from timer to timer, and the interrupts it takes while the guest waits
for the host would count as work; so during a round bench/soak.c, a loop
of SOAK_INSNS instructions per iteration at SCHED_IDLE, keeps the vCPU
from halting (netperf's looper). The cost of a round is its busy time
(/proc/timer_list: now minus idle_sleeptime) minus the soaker's
instructions, minus this process's own (the receiving VM or AF_XDP
program, in Python: not the datapath), minus the background (the tick
and what it runs, measured as instructions per guest ns with only the
soaker running) over the round's guest time.

For each path and frame size, after one round not counted, ROUNDS rounds
of FRAMES frames of one flow are sent in a burst by the host to one RX
queue of the virtio NIC while the receiver sleeps; the difference
between the median costs of rounds of FRAMES and of FRAMES / 4 frames,
divided by the difference in frames, is the cost of one frame (what a
round costs without frames cancels out): the NIC driver, XDP, the
handoff and the delivery into the VM's (or the process's) memory.

The batch a NAPI poll takes would otherwise depend on how fast the host
delivers a frame size: the NIC's interrupt is deferred
(napi_defer_hard_irqs, gro_flush_timeout DEFER_NS of guest time), the
same for every path. The VM asks for one signal per round
(VIRTIO_RING_F_EVENT_IDX), as a guest driver does; the AF_XDP process
wakes on its socket.

 zc      page_pool_zc: zc_demux redirects the frame from the queue bound
         to the VM's PD (page mode) to its tap; vhost-net completes the
         guest buffer the NIC wrote (selftests/vm/vhost.py as the VM)
 copy    the same, the PD in region mode and the VM's buffers of another
         layout: vhost-net copies the frame into the guest buffer
 stock   no XDP, no PD: the NIC in a bridge with the tap, vhost-net copies
 af_xdp  AF_XDP RX on the same queue into a process (bpf/xsk_rx.bpf.o),
         zero-copy where the driver offers it: virtio_net in 6.12 does not
         (no NETDEV_XDP_ACT_XSK_ZEROCOPY), so there it is copy mode, one
         copy into the process's memory; not at 4000 bytes, more than a
         4 KiB chunk holds after XDP_PACKET_HEADROOM

Prints a table and one line "RESULT <json>" for bench/datapath.sh.
"""

import argparse
import gc
import json
import mmap
import os
import re
import select
import statistics
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "selftests", "vm"))

from afxdp import XskRx                                       # noqa: E402
from demuxlib import (DEMUX, add_port, find_sports, frame_seq,  # noqa: E402
                      load_demux, open_tap, send)
from vhost import VhostRx                                     # noqa: E402
from zclib import (BPF, GUEST_IP, PIN, Memory, ifindex, log,  # noqa: E402
                   netdev, pd_create, pd_get, sh, virtio_nic)

SIZES = (64, 1500, 4000)
PATHS = ("zc", "copy", "stock", "af_xdp")
NUM = 4096                  # the VM's RX ring
FRAMES, ROUNDS = 3200, 5    # per point; --frames, --rounds
PPS = 0                     # a burst, queued in the host's tap
MAC = "52:54:00:00:02:0a"
MODES = {}
SOAK_INSNS = 3              # bench/soak.c's loop
DEFER_NS = 5000000          # NAPI polls by timer while frames come in


def busy_ns():
    """Nanoseconds CPU 0 was not idle since boot (the reader runs on it,
    so no idle period is open)."""
    with open("/proc/timer_list") as f:
        txt = f.read()
    now = int(re.search(r"now at (\d+) nsecs", txt).group(1))
    idle = int(re.search(r"\.idle_sleeptime\s*:\s*(\d+) nsecs", txt).group(1))
    return now - idle


class Soaker:
    """bench/soak.c: the idle time of a round, counted in instructions."""

    def __init__(self, binary):
        self.path = "/dev/shm/zc-soak"
        with open(self.path, "wb") as f:
            f.truncate(4096)
        with open(self.path, "r+b") as f:
            self.m = mmap.mmap(f.fileno(), 4096)
        self.p = subprocess.Popen([binary, self.path], stdin=subprocess.PIPE)

    def start(self):
        self.m[8:12] = struct.pack("I", 1)
        self.p.stdin.write(b"g")
        self.p.stdin.flush()

    def stop(self):
        self.m[8:12] = struct.pack("I", 0)

    def insns(self):
        return SOAK_INSNS * struct.unpack_from("Q", self.m, 0)[0]

    def close(self):
        self.stop()
        self.p.stdin.close()
        self.p.wait()
        os.unlink(self.path)


SOAK = None
PERF_CTL = None             # --perf-ctl: perf record samples rounds only


def work_ns():
    """(instructions CPU 0 spent outside the soaker and outside this
    process, guest clock) in ns since boot. This process is the receiving
    VM or AF_XDP program, in Python: what it spends waking up is not the
    datapath's, and how often it wakes depends on the batches."""
    return (busy_ns() - SOAK.insns() - time.thread_time_ns(),
            time.monotonic_ns())


def soaked(fn):
    """fn() with the soaker filling the idle time: (its instructions
    outside the soaker, the guest time it took)."""
    gc.disable()                # no collection inside a round
    SOAK.start()
    try:
        w0, t0 = work_ns()
        fn()
        w1, t1 = work_ns()
    finally:
        SOAK.stop()
        gc.enable()
    return w1 - w0, t1 - t0


def background():
    """Instructions per guest nanosecond that run while nothing but the
    soaker does (the timer tick and what it wakes, ~0.2 %)."""
    work, ns = soaked(lambda: time.sleep(0.2))
    return work / ns


def round_cost(count, size, sport, rx, rate):
    """Instructions of one round: count frames, until rx has them, minus
    the background of its duration.

    The round blocks on the traffic generator's answer (sent once every
    frame is in the host's tap), then on the receiver's notification
    (vhost-net's call eventfd, the AF_XDP socket) until it has every
    frame; the soaker runs whenever nothing else does.
    """
    def run():
        if not send(count, sport, MAC, size=size, pps=PPS):
            raise RuntimeError("traffic generator dropped frames")
        while rx.received() < count:
            rx.wait()

    if PERF_CTL is not None:
        os.write(PERF_CTL, b"enable\n")
    try:
        work, ns = soaked(run)
    finally:
        if PERF_CTL is not None:
            os.write(PERF_CTL, b"disable\n")
    return work - rate * ns, ns


def measure(rx, size, sport):
    """Instructions per frame: the difference between rounds of FRAMES and
    FRAMES / 4 frames (the cost of a round without frames cancels out),
    medians over ROUNDS rounds each, after one round not counted."""
    rate = background()
    rx.reset(FRAMES)            # a round not counted: warm caches, slabs
    round_cost(FRAMES, size, sport, rx, rate)
    rx.check(FRAMES)
    costs = {}
    for n in (FRAMES, FRAMES // 4):
        c, t = [], []
        for _ in range(ROUNDS):
            rx.reset(n)
            cost, ns = round_cost(n, size, sport, rx, rate)
            c.append(cost)
            t.append(ns)
            rx.check(n)
        costs[n] = statistics.median(c)
        log(f"  {n} frames: instructions per round {[round(x) for x in c]}"
            f", guest ms {[round(x / 1e6, 1) for x in t]}"
            f", background {rate * 100:.2f} %")
    return (costs[FRAMES] - costs[FRAMES // 4]) / (FRAMES - FRAMES // 4)


class VmRx:
    """A userspace VM on a tap: what vhost-net completed."""

    def __init__(self, tap, page):
        self.vq = VhostRx(tap, num=NUM, page=page, bufsize=4096,
                          event_idx=True)

    def reset(self, count):
        # Take what is left, post everything again, let vhost-net post;
        # one signal, when the round's last frame is in (as a guest
        # driver asks with VIRTIO_RING_F_EVENT_IDX).
        self.vq.used_entries(NUM, timeout=0.3)
        self.base = self.vq.used_idx
        self.vq.notify_at(self.base + count - 1)
        time.sleep(0.3)
        try:
            os.eventfd_read(self.vq.call)
        except BlockingIOError:
            pass

    def wait(self):
        select.select([self.vq.call], [], [])
        os.eventfd_read(self.vq.call)

    def received(self):
        used = struct.unpack_from("H", self.vq.m, self.vq.used + 2)[0]
        return (used - self.base) & 0xFFFF

    def check(self, n):
        got = self.vq.used_entries(n, timeout=1)
        bad = sum(frame_seq(f) is None for _, _, f in got)
        if bad or len(got) != n:
            raise RuntimeError(f"{bad} bad frames of {len(got)}")

    def close(self):
        self.vq.close()


class XskConsumer:
    def __init__(self, idx, queue):
        self.xsk = XskRx(idx, queue, frames=NUM)
        self.xsk.insert(f"{PIN}/xsk/xsks", queue)

    def reset(self, count):
        self.xsk.take()
        time.sleep(0.3)

    def wait(self):
        select.select([self.xsk.fd], [], [])

    def received(self):
        return self.xsk.pending()

    def check(self, n):
        got = self.xsk.take()
        bad = sum(frame_seq(f) is None for f in got)
        if bad or len(got) != n:
            raise RuntimeError(f"{bad} bad frames of {len(got)}")

    def close(self):
        self.xsk.close()


def run_path(path, nic, idx, queue, sport):
    """{size: instructions per frame} for one path."""
    nl, rx, tap, pd = netdev(), None, None, None
    try:
        if path == "af_xdp":
            sh(f"rm -rf {PIN}/xsk; mkdir -p {PIN}/xsk")
            sh(f"bpftool prog load {BPF}/xsk_rx.bpf.o {PIN}/xsk/prog "
               f"type xdp pinmaps {PIN}/xsk")
            sh(f"bpftool net attach xdpdrv pinned {PIN}/xsk/prog dev {nic}")
            rx = XskConsumer(idx, queue)
            log(f"AF_XDP socket in {rx.xsk.mode} mode")
            MODES["af_xdp"] = rx.xsk.mode
        else:
            tap = open_tap("zcbench")
            # Room in the tap for a whole burst: frames are not dropped.
            sh("ip link set zcbench mtu 4000 txqueuelen 10000")
            rx = VmRx(tap, page=(path == "zc"))
            if path == "stock":
                sh(f"ip link add zcbr type bridge; sysctl -qw "
                   f"net.ipv6.conf.zcbr.disable_ipv6=1; ip link set {nic} "
                   f"master zcbr; ip link set zcbench master zcbr; "
                   f"ip link set zcbr up; bridge fdb add {MAC} dev zcbench "
                   f"master static")
            else:
                # zc: the VM's buffers are the PD; copy: pages of their
                # own, all posted, and the VM's buffers of another layout.
                mem = None if path == "zc" else Memory(NUM)
                pd = pd_create(nl, [rx.vq.buf_range() if mem is None
                                    else mem.range()],
                               mode="page" if mem is None else "region")
                nl.do("pd-bind", {"id": pd, "ifindex": idx,
                                  "queue-id": queue})
                nl.do("pd-attach", {"id": pd, "ifindex": ifindex("zcbench")})
                load_demux(nic)
                add_port(ifindex("zcbench"), MAC, segment=False)
                rx.vq.kick_now()
        out = {}
        for size in SIZES:
            if path == "af_xdp" and size > 4096 - 256:
                continue
            if path != "af_xdp" and path != "stock":
                c0 = pd_get(nl, pd)
            out[size] = round(measure(rx, size, sport))
            if path in ("zc", "copy"):
                c1 = pd_get(nl, pd)
                key = "guest-zc" if path == "zc" else "port-copy"
                n = c1[key] - c0[key]
                want = ROUNDS * (FRAMES + FRAMES // 4) + FRAMES
                if n != want:
                    raise RuntimeError(f"{path}: {key} {n}, not {want}")
            log(f"{path} {size} B: {out[size]} instructions per frame")
        return out
    finally:
        if rx:
            rx.close()
        sh(f"bpftool net detach xdpdrv dev {nic}", check_rc=False)
        sh(f"rm -rf {DEMUX} {PIN}/xsk", check_rc=False)
        sh(f"ip link set {nic} nomaster; ip link del zcbr", check_rc=False)
        if pd is not None:
            nl.do("pd-unbind", {"id": pd, "ifindex": idx, "queue-id": queue})
        if tap is not None:
            os.close(tap)
        del nl
        gc.collect()


def main():
    global FRAMES, ROUNDS, SOAK, PPS, PERF_CTL
    ap = argparse.ArgumentParser()
    ap.add_argument("--soak", required=True, help="bench/soak.c, built")
    ap.add_argument("--frames", type=int, default=FRAMES)
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--pps", type=int, default=PPS)
    ap.add_argument("--perf-ctl", help="control FIFO of a perf record "
                    "started with -D -1: enabled during rounds only")
    ap.add_argument("--defer", type=int, default=DEFER_NS,
                    help="gro_flush_timeout (ns), 0: interrupt per poll")
    ap.add_argument("--paths", default=",".join(PATHS))
    args = ap.parse_args()
    FRAMES, ROUNDS, PPS = args.frames, args.rounds, args.pps
    SOAK = Soaker(args.soak)
    if args.perf_ctl:
        PERF_CTL = os.open(args.perf_ctl, os.O_WRONLY)
    nic = virtio_nic()
    sh(f"ip link set {nic} up promisc on")
    sh(f"ip addr add {GUEST_IP}/24 dev {nic}", check_rc=False)
    sh(f"sysctl -qw net.ipv6.conf.{nic}.disable_ipv6=1")
    if args.defer:
        # The NIC's interrupt stays off while polls find frames; NAPI
        # polls every args.defer ns of guest time instead, and takes what
        # the host put in the ring since: a batch that does not depend on
        # how fast the host delivers a frame size.
        sh(f"echo 1000 > /sys/class/net/{nic}/napi_defer_hard_irqs; "
           f"echo {args.defer} > /sys/class/net/{nic}/gro_flush_timeout")
    idx = ifindex(nic)
    sports = find_sports(nic)
    queue = min(sports)
    sport = sports[queue]
    log(f"flow: UDP source port {sport} on RX queue {queue}; "
        f"{ROUNDS} rounds of {FRAMES} frames per point")
    paths = args.paths.split(",")
    try:
        res = {p: run_path(p, nic, idx, queue, sport) for p in paths}
    finally:
        SOAK.close()
    if paths != list(PATHS):
        print("RESULT " + json.dumps({"paths": res}))
        return

    print(f"\n{'bytes':>6} " + " ".join(f"{p:>8}" for p in PATHS) +
          "   zc/stock  zc/af_xdp")
    for size in SIZES:
        row = [res[p].get(size) for p in PATHS]
        cells = " ".join(f"{v:>8}" if v else f"{'n/a':>8}" for v in row)
        zs = res["zc"][size] / res["stock"][size]
        za = (f"{res['zc'][size] / res['af_xdp'][size]:9.2f}"
              if size in res["af_xdp"] else f"{'n/a':>9}")
        print(f"{size:>6} {cells}   {zs:8.2f}  {za}")
    flat = res["zc"][4000] / res["zc"][64]
    print(f"zero-copy 4000 B / 64 B: {flat:.2f}")
    print("RESULT " + json.dumps({"frames": FRAMES, "rounds": ROUNDS,
                                  "paths": res, "modes": MODES}))


if __name__ == "__main__":
    main()
