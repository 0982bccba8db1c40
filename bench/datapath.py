#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Cost of receiving a frame into a VM, side by side in one run.

Runs in the test VM booted with one vCPU and -icount shift=0,sleep=off
(bench/datapath.sh): the guest clock then advances one nanosecond per
instruction, so the busy time of the CPU, from /proc/timer_list (now
minus idle_sleeptime), counts guest instructions exactly. For each path
and frame size, ROUNDS rounds of FRAMES frames of one flow are sent by the
host to one RX queue of the virtio NIC while the receiver sleeps; the
difference between the busy time of rounds of FRAMES and of FRAMES / 4
frames, divided by the difference in frames, is the cost of one frame
(what a round costs without frames cancels out): the NIC driver, XDP,
the handoff and the delivery into the VM's (or the process's) memory.

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
import os
import re
import select
import statistics
import struct
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
FRAMES, ROUNDS = 3200, 3    # per point; --frames, --rounds
PPS = 0                     # a burst, queued in the host's tap
MAC = "52:54:00:00:02:0a"
MODES = {}


def busy_ns():
    """Nanoseconds CPU 0 was not idle since boot (the reader runs on it,
    so no idle period is open)."""
    with open("/proc/timer_list") as f:
        txt = f.read()
    now = int(re.search(r"now at (\d+) nsecs", txt).group(1))
    idle = int(re.search(r"\.idle_sleeptime\s*:\s*(\d+) nsecs", txt).group(1))
    return now - idle


def round_cost(count, size, sport, rx):
    """Busy ns of one round: count frames, until rx has them.

    Nothing in the round waits on a timer: under -icount sleep=off an idle
    guest's clock jumps to its next timer, so a polling loop would run as
    often as the host is slow. The round blocks on the traffic generator's
    answer (sent once every frame is in the host's tap), then on the
    receiver's notification (vhost-net's call eventfd, the AF_XDP socket)
    until it has every frame. While it waits, the guest's clock still
    jumps to its next timer, and the timer interrupts taken then are
    counted: the figures carry that noise, more for larger frames, which
    take the host longer to deliver.
    """
    b0 = busy_ns()
    if not send(count, sport, MAC, size=size, pps=PPS):
        raise RuntimeError("traffic generator dropped frames")
    while rx.received() < count:
        rx.wait()
    return busy_ns() - b0


def measure(rx, size, sport):
    """Instructions per frame: the difference between rounds of FRAMES and
    FRAMES / 4 frames (the cost of a round without frames cancels out),
    medians over ROUNDS rounds each."""
    costs = {}
    for n in (FRAMES, FRAMES // 4):
        c = []
        for _ in range(ROUNDS):
            rx.reset()
            c.append(round_cost(n, size, sport, rx))
            rx.check(n)
        costs[n] = statistics.median(c)
        log(f"  {n} frames: busy ns per round "
            f"{[round(x) for x in c]}")
    return (costs[FRAMES] - costs[FRAMES // 4]) / (FRAMES - FRAMES // 4)


class VmRx:
    """A userspace VM on a tap: what vhost-net completed."""

    def __init__(self, tap, page):
        self.vq = VhostRx(tap, num=NUM, page=page, bufsize=4096)

    def reset(self):
        # Take what is left, post everything again, let vhost-net post.
        self.vq.used_entries(NUM, timeout=0.3)
        self.base = self.vq.used_idx
        time.sleep(0.3)

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

    def reset(self):
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
                want = ROUNDS * (FRAMES + FRAMES // 4)
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
    global FRAMES, ROUNDS
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=FRAMES)
    ap.add_argument("--rounds", type=int, default=ROUNDS)
    ap.add_argument("--paths", default=",".join(PATHS))
    args = ap.parse_args()
    FRAMES, ROUNDS = args.frames, args.rounds
    nic = virtio_nic()
    sh(f"ip link set {nic} up promisc on")
    sh(f"ip addr add {GUEST_IP}/24 dev {nic}", check_rc=False)
    sh(f"sysctl -qw net.ipv6.conf.{nic}.disable_ipv6=1")
    idx = ifindex(nic)
    sports = find_sports(nic)
    queue = min(sports)
    sport = sports[queue]
    log(f"flow: UDP source port {sport} on RX queue {queue}; "
        f"{ROUNDS} rounds of {FRAMES} frames per point")
    paths = args.paths.split(",")
    res = {p: run_path(p, nic, idx, queue, sport) for p in paths}
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
