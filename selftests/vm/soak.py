#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""Soak: traffic for a bounded time while VMs come and go.

VM B, bound to RX queue 1, receives a steady flow the whole time. On
queue 0 userspace VMs (zcvm.VM) join and leave, one event at a time: a
VM joins (bound to queue 0 if it is free, else unbound: its frames are
then copied from the PD of queue 0, which trusts its guest), leaves (vhost-net stopped and closed), has its tap deleted
under it, has its queue unbound and bound again; the demux program is
replaced by a new one with filled maps. After each event every live VM
gets a burst of frames.

The books must balance: every frame sent to a VM is received by it or
counted as dropped, at most 1 % dropped; the VM bound to queue 0
receives in place, every other VM (and that one while its queue is
unbound) by copy, as its PD's counters say; nothing arrives that was
not sent; B's steady flow loses nothing. At the end the PDs are gone,
VmLck (the pinned guest pages) is back to its start and the
unreclaimable slab within 1 MiB of it (caches and per-CPU lists do not
shrink to the byte).

  soak.py [--minutes M] [--seed N]

Prints "@@fig frames N", "@@fig lost N" and "@@fig load TEXT".
"""

import argparse
import gc
import os
import random
import threading
import time

import demuxlib
from demuxlib import DEMUX, add_port, attach_demux, delta, load_demux
from zclib import (check, check_eq, ethtool_sum, finish, log, netdev, pd_ids,
                   proc_kb, sh, status_kb, wait_for)
from vhost import PAGE
from zcvm import VM, setup, teardown

ap = argparse.ArgumentParser()
ap.add_argument("--minutes", type=float, default=float(
    os.environ.get("ZC_SOAK_MINUTES", 30)))
ap.add_argument("--seed", type=int, default=int(time.time()))
args = ap.parse_args()
rnd = random.Random(args.seed)


def sunreclaim():
    sh("sync; echo 3 > /proc/sys/vm/drop_caches")
    return proc_kb("/proc/meminfo", "SUnreclaim")


def slab_caches():
    """{cache: kB of its slabs} from /proc/slabinfo (SLUB_DEBUG kernels),
    else {}."""
    out = {}
    if not os.path.exists("/proc/slabinfo"):
        return out
    with open("/proc/slabinfo") as f:
        for line in f.readlines()[2:]:
            x = line.split()
            out[x[0]] = int(x[14]) * int(x[5]) * PAGE // 1024
    return out


nic, idx, sports = setup("soak")
watch = netdev()
check_eq("a flow for each RX queue", sorted(sports), [0, 1])
lck0, slab0 = status_kb("VmLck"), sunreclaim()
caches0 = slab_caches()
books = {"sent": 0, "received": 0, "zc": 0, "copied": 0, "dropped": 0,
         "zc-missed": 0, "unsent": 0}
events = {}
vms, demux = [], [DEMUX]
load_demux(nic)
stop = threading.Event()
tg_lock = threading.Lock()
steady = {"sent": 0, "received": 0, "error": None}


def port(vm, path=None):
    add_port(vm.ifindex, vm.mac, path=path or demux[0])


def send(*a, **kw):
    """One sender at a time on the traffic generator's port."""
    with tg_lock:
        return demuxlib.send(*a, **kw)


def drops(vm):
    """What the VM's tap and the NIC's queue 0 counted as dropped."""
    with open(f"/sys/class/net/{vm.name}/statistics/tx_dropped") as f:
        return int(f.read()) + ethtool_sum(nic, "^rx0_drops$")


def burst(vm, bound=True):
    """64 frames to vm on queue 0's flow, into the books; whether every
    frame is accounted for, in place exactly when vm owns queue 0 (and
    it is bound), and nothing arrived that was not sent."""
    n = 64
    c0, d0 = vm.counters(), drops(vm)
    s = send(n, sports[0], vm.mac)
    got, other = vm.receive(s or [], timeout=10)
    d = delta(c0, vm.counters())
    zc = d.get("guest-zc", 0)
    want_zc = len(got) if bound and vm.queue == 0 else 0
    books["sent"] += n
    books["received"] += len(got)
    books["zc"] += zc
    books["copied"] += len(got) - zc
    books["dropped"] += drops(vm) - d0
    books["zc-missed"] += abs(want_zc - zc)
    books["unsent"] += len(other)
    return (len(got) + drops(vm) - d0 == n and zc == want_zc and
            not other)


def steady_flow(b):
    """B's flow: bursts of 100 frames at 500 a second, each received
    whole before the next."""
    try:
        while not stop.is_set():
            s = send(100, sports[1], b.mac, pps=500)
            got, _ = b.receive(s or [], timeout=10)
            steady["sent"] += 100
            steady["received"] += len(got)
    except Exception as e:          # noqa: BLE001: checked at the end
        steady["error"] = repr(e)


def queue0_owner():
    return next((v for v in vms if v.queue == 0), None)


def join():
    n = events.get("join", 0)
    q = None if queue0_owner() else 0
    # Trusted: the frames of the VMs without a queue come in on queue 0
    # and are copied to them from the PD bound there.
    vm = VM(f"zs{n}", f"52:54:00:00:{5 + n // 256:02x}:{n % 256:02x}", q,
            trust=True)
    vm.queue = q
    vms.append(vm)
    port(vm)
    return vm


def queue0_free():
    q = watch.do("queue-get", {"ifindex": idx, "type": "rx", "id": 0})
    return "pd-id" not in q


def leave(vm, tap_first=False):
    """vm goes: its tap deleted under it first, or its port taken out of
    the demux first (as a VMM tears a port down); the buffers vhost-net
    did not give back."""
    vms.remove(vm)
    if tap_first:
        sh(f"ip link del {vm.name}")
        vm.vq.kick_now()
        vm.receive([], timeout=1)
    sh(f"bpftool map delete pinned {demux[0]}/fdb key hex "
       f"{' '.join(vm.mac.split(':'))} 00 00", check_rc=False)
    left = vm.vq.stop()
    vm.destroy()
    if vm.queue == 0:
        check("queue 0 unbound once its VM left", wait_for(5, queue0_free))
    return left


def replace_demux():
    path = f"{DEMUX}{events.get('replace', 0) % 2}"
    load_demux(nic, path=path, replace=True)
    for vm in vms + [B]:
        port(vm, path)
    attach_demux(nic, path)
    old, demux[0] = demux[0], path
    sh(f"rm -rf {old}")


B = VM("zsB", "52:54:00:00:04:bb", 1)
B.queue = 1
port(B)
t = threading.Thread(target=steady_flow, args=(B,))
t.start()
end = time.time() + args.minutes * 60
ok_all, leftover = True, 0
try:
    while time.time() < end:
        live = list(vms)
        # A rebind needs a VM bound to queue 0: only then is it an event.
        ev = rnd.choice(["join", "join", "leave", "tap", "replace"] +
                        (["rebind"] if queue0_owner() else [])
                        if live else ["join"])
        if ev == "join":
            join()
        elif ev == "leave":
            leftover += leave(rnd.choice(live))
        elif ev == "tap":
            leftover += leave(rnd.choice(live), tap_first=True)
        elif ev == "rebind":
            v = queue0_owner()
            v.nl.do("pd-unbind", {"id": v.pd, "ifindex": idx,
                                  "queue-id": 0})
            for x in vms:
                ok_all &= burst(x, bound=False)
            v.nl.do("pd-bind", {"id": v.pd, "ifindex": idx, "queue-id": 0})
            v.vq.kick_now()
        elif ev == "replace":
            replace_demux()
        events[ev] = events.get(ev, 0) + 1
        for v in vms:
            ok_all &= burst(v)
finally:
    stop.set()
    t.join()
    for v in list(vms):
        leftover += leave(v)
    leftover += B.vq.stop()
    B.destroy()
    vms = B = None
    gc.collect()
    sh(f"bpftool net detach xdpdrv dev {nic}", check_rc=False)
    sh(f"rm -rf {demux[0]}", check_rc=False)
    teardown()

lost = books["sent"] - books["received"] - books["dropped"]
lost_b = steady["sent"] - steady["received"]
frames = books["sent"] + steady["sent"]
log(f"{args.minutes:g} min, seed {args.seed}: events {events}; bursts "
    f"{books}; B's flow {steady}")
print(f"@@fig frames {frames}", flush=True)
print(f"@@fig lost {lost + lost_b}", flush=True)
print(f"@@fig load {args.minutes:g} min, {frames} frames, "
      f"{sum(events.values())} events", flush=True)
check("events of every kind happened",
      args.minutes < 2 or len(events) >= 5, str(events))
check_eq("bursts: frames sent = received (in place + copied) + counted "
         "drops", lost, 0)
check("bursts: at most 1 % of the frames dropped",
      books["dropped"] * 100 <= books["sent"], str(books))
check_eq("bursts: the VM bound to queue 0 received in place, the others "
         "by copy", books["zc-missed"], 0)
check_eq("bursts: nothing arrived that was not sent", books["unsent"], 0)
check("bursts: every frame received or counted as dropped", ok_all)
check_eq("B's flow ran to the end", steady["error"], None)
check_eq("B's flow beside the churn: nothing lost", lost_b, 0)
check_eq("vhost-net gave back every buffer it took", leftover, 0)
check("no PD left", wait_for(10, lambda: not pd_ids(watch)),
      str(pd_ids(watch)))
check_eq("pinned memory back (VmLck)",
         wait_for(5, lambda: status_kb("VmLck") == lck0) and
         status_kb("VmLck"), lck0)
slab = sunreclaim()
log(f"SUnreclaim {slab0} kB -> {slab} kB")
caches = slab_caches()
grew = sorted(((caches[c] - caches0.get(c, 0), c) for c in caches
               if caches[c] > caches0.get(c, 0)), reverse=True)[:5]
if grew:
    log("slab caches that grew most (kB): " +
        ", ".join(f"{c} +{kb}" for kb, c in grew))
check("unreclaimable slab back within 1 MiB", slab - slab0 < 1024,
      f"{slab0} -> {slab} kB")
finish()
