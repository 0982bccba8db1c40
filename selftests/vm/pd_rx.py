#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""page_pool_zc datapath on virtio_net: frames received into a PD.

This process registers its own memory as a protection domain, binds it to
the RX queue of the VM's virtio_net NIC that a chosen flow lands on, and
has frames sent from outside the VM (scripts/trafgen.py into the tap):

 - with XDP_DROP, the payload bytes appear in the registered memory, the
   PD counts every frame as received in place and none as copied, and the
   pages all come back (posted count unchanged);
 - with XDP_PASS, no program, XDP_TX or a redirect to another device,
   nothing leaves: no datagram reaches the stack, no frame the host side
   of the tap, and each frame is dropped and counted by reason;
 - with a PD that trusts its guest (trust-guest), XDP_PASS datagrams
   reach a socket intact and XDP_TX frames come out of the NIC intact,
   once each, counted as copies;
 - suspend (/sys/power/pm_test "devices") is refused while the queue is
   bound, and the queue keeps receiving into the PD;
 - unbinding restores the normal RX path, and the pages return;
 - closing the netlink socket, or killing the process that owns the PD,
   while frames flow unbinds the queue, traffic goes on on the normal path
   and every page is unpinned.
"""

import errno
import gc
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time

from zclib import (BPF, GUEST_IP, Memory, PIN, check, check_eq, check_refused,
                   ethtool_sum, finish, log, netdev, ok, pd_create,
                   pd_get, pd_ids, pd_test_nic, percpu_sum, scan_payloads, sh,
                   status_kb, tg, virtio_nic, wait_for)

PAGES = 1024
SIZE = 512
PORT = 9
HERE = os.path.dirname(os.path.abspath(__file__))

nic, idx = pd_test_nic("pd-bind")
mac = open(f"/sys/class/net/{nic}/address").read().strip()
sh(f"ip link set {nic} up")
sh(f"ip addr add {GUEST_IP}/24 dev {nic}", check_rc=False)
sh(f"sysctl -qw net.ipv6.conf.{nic}.disable_ipv6=1")
sh("sysctl -qw net.core.rmem_max=33554432")

prog, maps = f"{PIN}/pd_rx_prog", f"{PIN}/pd_rx_maps"
sh(f"mkdir -p {PIN}; rm -rf {prog} {maps}")
sh(f"bpftool prog load {BPF}/xdp_count.bpf.o {prog} type xdp pinmaps {maps}")
sh(f"bpftool net attach xdpdrv pinned {prog} dev {nic}")
seq = 0


def cleanup():
    if not os.path.exists(f"/sys/class/net/{nic}"):
        return
    sh(f"bpftool net detach xdpdrv dev {nic}", check_rc=False)
    sh(f"rm -rf {prog} {maps}", check_rc=False)
    sh(f"ip addr del {GUEST_IP}/24 dev {nic}", check_rc=False)


XDP_DROP, XDP_PASS, XDP_TX, XDP_REDIRECT = 1, 2, 3, 4


def verdict(drop=False, action=None, ifindex=0):
    action = action or (XDP_DROP if drop else XDP_PASS)
    b = list(action.to_bytes(4, "little")) + list(ifindex.to_bytes(4, "little"))
    sh(f"bpftool map update pinned {maps}/config key 0 0 0 0 "
       f"value {' '.join(map(str, b))}")


def counted():
    return percpu_sum(f"{maps}/counters", 1, "packets")


def send(count, sport, size=SIZE, pps=4000):
    """count frames of one flow (one RX queue); True if none was lost."""
    global seq
    r = tg({"cmd": "send", "count": count, "size": size, "dst": mac,
            "dst_ip": GUEST_IP, "dport": PORT, "sport": sport, "flows": 1,
            "pps": pps, "seq0": seq})
    seq += count
    if not r.get("ok") or r.get("dropped"):
        log(f"trafgen: {r}")
        return False
    return True


def sysfs_write(path, value):
    """One write(2) of value to path: its errno, 0 if it succeeded."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
        return 0
    except OSError as e:
        return e.errno
    finally:
        os.close(fd)


def suspend_errno():
    """errno of a suspend to idle with /sys/power/pm_test at "devices"
    (0: it went through). Devices suspend one at a time (pm_async 0),
    last added first: the NIC (scripts/vm-run.sh adds it last) before the
    console and the root file system, which a failed suspend would resume
    for nothing."""
    sysfs_write("/sys/power/pm_test", "devices")
    sysfs_write("/sys/power/pm_async", "0")
    try:
        return sysfs_write("/sys/power/state", "freeze")
    finally:
        sysfs_write("/sys/power/pm_async", "1")
        sysfs_write("/sys/power/pm_test", "none")


def udp_in():
    """InDatagrams + NoPorts of /proc/net/snmp: every UDP datagram the
    stack took in, whether or not a socket wanted it."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    v = dict(zip(rows[0][1:], map(int, rows[1][1:])))
    return v["InDatagrams"] + v["NoPorts"] + v["InErrors"]


def wait_counted(want):
    return wait_for(10, lambda: counted() >= want and counted())


class Sink:
    def __init__(self, count):
        self.tmp = tempfile.mkdtemp()
        ready = os.path.join(self.tmp, "ready")
        self.p = subprocess.Popen(
            ["/usr/bin/python3", os.path.join(HERE, "udp_sink.py"), "--port",
             str(PORT), "--count", str(count), "--idle", "3", "--ready",
             ready], stdout=subprocess.PIPE, text=True)
        if not wait_for(60, lambda: os.path.exists(ready)):
            log("udp_sink.py did not get ready in 60 s")

    def result(self):
        out, _ = self.p.communicate(timeout=60)
        shutil.rmtree(self.tmp)
        return json.loads(out)


def queue_pd(nl, q):
    return nl.do("queue-get", {"ifindex": idx, "type": "rx", "id": q}) \
             .get("pd-id")


try:
    # --- find the queue one flow lands on --------------------------------
    verdict(drop=True)
    sport = 4000
    before = [ethtool_sum(nic, f"^rx{q}_xdp_packets$") for q in (0, 1)]
    send(20, sport)
    wait_counted(20)
    delta = [ethtool_sum(nic, f"^rx{q}_xdp_packets$") - before[q]
             for q in (0, 1)]
    q = 0 if delta[0] >= delta[1] else 1
    check("flow lands on one RX queue", max(delta) == 20, f"per queue {delta}")
    log(f"UDP source port {sport} lands on RX queue {q}")
    base = counted()

    # --- bind ------------------------------------------------------------
    nl = netdev()
    lck0 = status_kb("VmLck")
    mem = Memory(PAGES)
    pd = pd_create(nl, [mem.range()])
    nl.do("pd-bind", {"id": pd, "ifindex": idx, "queue-id": q})
    ok(f"pd-bind: PD {pd} to {nic} queue {q}")
    check_eq("queue-get shows the PD on the bound queue", queue_pd(nl, q), pd)
    check_eq("queue-get shows no PD on the other queue", queue_pd(nl, 1 - q),
             None)
    pools = [p for p in nl.dump("page-pool-get", {})
             if p.get("ifindex") == idx and p.get("pd-id") == pd]
    check_eq("page-pool-get: one page_pool takes pages from the PD",
             len(pools), 1)
    pool_id = pools[0]["id"] if pools else None
    info = pd_get(nl, pd)
    check("the queue's ring took pages from the PD", info["inflight"] > 0,
          str(info))
    check_eq("posted + in flight = pages", info["posted"] + info["inflight"],
             PAGES)
    check_eq("pd-get lists the binding", info.get("binding"),
             [{"ifindex": idx, "queue-id": q}])
    check_refused("bind refused: queue already bound", errno.EEXIST,
                  "already", lambda: nl.do("pd-bind", {
                      "id": pd, "ifindex": idx, "queue-id": q}))
    posted0 = info["posted"]

    # --- zero copy, XDP_DROP ----------------------------------------------
    n = 200
    first = seq
    check(f"host sends {n} frames to the bound queue", send(n, sport))
    check_eq("XDP saw every frame", wait_counted(base + n), base + n)
    info = pd_get(nl, pd)
    check_eq("PD: every frame received in place", info["rx-zc"], n)
    check_eq("PD: nothing copied", info["rx-copy"], 0)
    found = scan_payloads(mem)
    mine = {s: o for s, o in found.items() if first <= s < first + n}
    check("payload bytes of the frames are in the registered memory",
          first + n - 1 in mine,
          f"found seqs {sorted(mine)[:8]}... of {first}..{first + n - 1}")
    check("each payload sits in its own page, after the frame's headers at "
          "the agreed offset (96)",
          all(o % 4096 == 96 + 14 + 20 + 8 for o in mine.values()), str(mine))
    check_eq("XDP_DROP: every page back (posted count unchanged)",
             info["posted"], posted0)

    # --- suspend: refused while the queue is bound ---------------------------
    # pm_test "devices" runs the drivers' suspend callbacks, then resumes.
    # Suspend frees the virtqueues with the bound queue's page_pool, and
    # resume builds a stock one: the queue would leave its PD unseen.
    check_eq("suspend with the queue bound: refused (EBUSY)",
             suspend_errno(), errno.EBUSY)
    check("the kernel log names the bound queue",
          f"rx queue {q} is bound to a memory provider" in sh("dmesg"))
    check_eq("page-pool-get: the queue's page_pool is still the PD's",
             [p["id"] for p in nl.dump("page-pool-get", {})
              if p.get("ifindex") == idx and p.get("pd-id") == pd],
             [pool_id])
    first, xdp0 = seq, ethtool_sum(nic, f"^rx{q}_xdp_packets$")
    check(f"host sends {n} frames to the bound queue", send(n, sport))
    wait_counted(base + 2 * n)
    check_eq("the queue's XDP saw them all (ethtool -S)",
             ethtool_sum(nic, f"^rx{q}_xdp_packets$") - xdp0, n)
    check("and it still receives into the PD's memory: the last one is "
          "there", first + n - 1 in scan_payloads(mem))
    check_eq("PD: those received in place too", pd_get(nl, pd)["rx-zc"],
             2 * n)

    # --- XDP_PASS and no program: nothing leaves for the host stack -----------
    # The guest can rewrite a frame until it is copied: by default a bound
    # queue's frames go nowhere but a port of their PD (none here).
    verdict(drop=False)
    sink = Sink(n)
    udp0 = udp_in()
    check(f"host sends {n} frames (XDP_PASS)", send(n, sport))
    res = sink.result()
    check_eq("XDP_PASS: no datagram reached the socket", res["valid"], 0)
    check_eq("XDP_PASS: and no UDP datagram reached the stack",
             udp_in() - udp0, 0)
    info = pd_get(nl, pd)
    check_eq("PD: XDP_PASS frames dropped (drop-pass), none copied",
             (info["drop-pass"], info["rx-copy"]), (n, 0))
    check_eq("PD: and received in place", info["rx-zc"], 3 * n)

    # --- XDP detached and attached again while the queue is bound -----------
    r = subprocess.run(["bpftool", "net", "detach", "xdpdrv", "dev", nic],
                       capture_output=True, text=True)
    check("bpftool net detach while a PD is bound", r.returncode == 0,
          r.stderr.strip())
    sink = Sink(n)
    check(f"host sends {n} frames (no XDP program)", send(n, sport))
    check_eq("no program: no datagram reached the socket",
             sink.result()["valid"], 0)
    info = pd_get(nl, pd)
    check_eq("PD: frames without a program dropped (drop-pass)",
             (info["drop-pass"], info["rx-copy"]), (2 * n, 0))
    r = subprocess.run(["bpftool", "net", "attach", "xdpdrv", "pinned", prog,
                        "dev", nic], capture_output=True, text=True)
    check("bpftool net attach while a PD is bound", r.returncode == 0,
          r.stderr.strip())
    base = counted()
    check(f"host sends {n} frames (XDP_PASS again)", send(n, sport))
    check_eq("the program runs again on the bound queue",
             wait_counted(base + n), base + n)

    # --- XDP_TX and a redirect elsewhere: dropped, the page comes back once ----
    info = pd_get(nl, pd)
    posted = info["posted"]
    verdict(action=XDP_TX)
    base = counted()
    tg({"cmd": "capture-start"})
    first = seq
    check(f"host sends {n} frames (XDP_TX)", send(n, sport))
    check_eq("XDP_TX: the program saw every frame", wait_counted(base + n),
             base + n)
    cap = tg({"cmd": "capture-stop"})
    check_eq("XDP_TX: none of the frames left the NIC (host side of the tap)",
             (cap.get("ok"), [x for x in cap.get("seqs", []) if x >= first]),
             (True, []))
    info = pd_get(nl, pd)
    check_eq("PD: XDP_TX frames dropped (drop-tx), none copied",
             (info["drop-tx"], info["rx-copy"]), (n, 0))
    verdict(action=XDP_REDIRECT, ifindex=4242)
    base = counted()
    check(f"host sends {n} frames (redirect to another device)",
          send(n, sport))
    check_eq("redirect: the program saw every frame",
             wait_counted(base + n), base + n)
    info = pd_get(nl, pd)
    check_eq("PD: redirect outside the PD dropped (drop-redirect)",
             (info["drop-redirect"], info["rx-copy"]), (n, 0))
    check_eq("every page back after XDP_TX and dropped redirects",
             (info["posted"], info["posted"] + info["inflight"]),
             (posted, PAGES))
    verdict(drop=False)

    # --- unbind ---------------------------------------------------------------
    nl.do("pd-unbind", {"id": pd, "ifindex": idx, "queue-id": q})
    ok("pd-unbind")
    check_eq("queue-get: no PD after unbind", queue_pd(nl, q), None)
    back = wait_for(5, lambda: pd_get(nl, pd)["posted"] == PAGES)
    check("unbind: every page back in the PD", back, str(pd_get(nl, pd)))

    def pool_left():
        return [p for p in nl.dump("page-pool-get", {})
                if p.get("id") == pool_id]
    # page_pool's own books: the pool is freed once its inflight count
    # is 0; a page it handed out and never got back keeps it listed.
    gone = pool_id is not None and wait_for(5, lambda: not pool_left())
    check("unbind: page_pool freed the PD's pool (page-pool-get lists it "
          "no more)", gone, str(pool_left()))
    sink = Sink(n)
    check(f"host sends {n} frames after unbind", send(n, sport))
    check_eq("normal RX after unbind: every datagram intact",
             sink.result()["valid"], n)
    check_eq("PD counted nothing after unbind", pd_get(nl, pd)["rx-zc"],
             7 * n)

    # --- a PD that trusts its guest: copies leave ----------------------------
    tmem = Memory(PAGES)
    tpd = pd_create(nl, [tmem.range()], trust=True)
    check("pd-get: trust-guest set", pd_get(nl, tpd).get("trust-guest"),
          str(pd_get(nl, tpd)))
    check("pd-get: not set by default", not pd_get(nl, pd).get("trust-guest"),
          str(pd_get(nl, pd)))
    nl.do("pd-bind", {"id": tpd, "ifindex": idx, "queue-id": q})
    sink = Sink(n)
    check(f"host sends {n} frames (XDP_PASS, trust-guest)", send(n, sport))
    check_eq("trust-guest, XDP_PASS: every datagram reached the socket intact",
             sink.result()["valid"], n)
    info = pd_get(nl, tpd)
    check_eq("PD: counted as copies, nothing dropped",
             (info["rx-copy"], info["drop-pass"]), (n, 0))
    verdict(action=XDP_TX)
    drops = ethtool_sum(nic, f"^tx{q}_xdp_tx_drops$")
    tg({"cmd": "capture-start"})
    first = seq
    check(f"host sends {n} frames (XDP_TX, trust-guest)", send(n, sport))
    cap = tg({"cmd": "capture-stop"})
    mine = [x for x in cap.get("seqs", []) if x >= first]
    check_eq("trust-guest, XDP_TX: every frame came out of the NIC intact, "
             "once (host side of the tap)",
             (mine, cap.get("dups"), cap.get("bad")),
             (list(range(first, first + n)), 0, 0))
    check_eq("XDP_TX: the driver dropped none (tx_xdp_tx_drops)",
             ethtool_sum(nic, f"^tx{q}_xdp_tx_drops$") - drops, 0)
    check_eq("PD: XDP_TX copies counted", pd_get(nl, tpd)["rx-copy"], 2 * n)
    # A copy redirected to a virtio_net device (this one: out of the NIC).
    verdict(action=XDP_REDIRECT, ifindex=idx)
    tg({"cmd": "capture-start"})
    first = seq
    check(f"host sends {n} frames (redirect to {nic}, trust-guest)",
          send(n, sport))
    cap = tg({"cmd": "capture-stop"})
    mine = [x for x in cap.get("seqs", []) if x >= first]
    check_eq(f"trust-guest, redirect to {nic}: every frame came out of the "
             "NIC intact, once", (mine, cap.get("dups"), cap.get("bad")),
             (list(range(first, first + n)), 0, 0))
    check_eq("PD: the redirected copies counted",
             (pd_get(nl, tpd)["redirect-copy"], pd_get(nl, tpd)["rx-copy"]),
             (n, 3 * n))
    verdict(drop=False)
    nl.do("pd-unbind", {"id": tpd, "ifindex": idx, "queue-id": q})
    check("trust-guest PD: every page back after unbind",
          wait_for(5, lambda: pd_get(nl, tpd)["posted"] == PAGES),
          str(pd_get(nl, tpd)))

    # --- close the socket while frames flow ------------------------------------
    nl.do("pd-bind", {"id": pd, "ifindex": idx, "queue-id": q})
    verdict(drop=True)
    before = counted()
    flow = threading.Thread(target=lambda: send(3000, sport, pps=4000))
    flow.start()
    time.sleep(0.3)
    del nl
    gc.collect()
    flow.join()
    watcher = netdev()
    check_eq("socket closed under traffic: queue unbound",
             queue_pd(watcher, q), None)
    check("socket closed: PD gone", wait_for(5, lambda: pd not in
                                             pd_ids(watcher)))
    check_eq("socket closed: every page unpinned (VmLck back)",
             wait_for(5, lambda: status_kb("VmLck") == lck0) and
             status_kb("VmLck"), lck0)
    mark = counted()
    check("host sends 300 frames after the close", send(300, sport))
    check_eq("traffic continues on the normal path", wait_counted(mark + 300),
             mark + 300)
    log(f"{mark - before} of 3000 frames counted across the close")

    # --- kill the owning process while frames flow ------------------------------
    owner = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(HERE, "pd_tool.py"), "hold",
         "--pages", "512", "--bind", f"{idx}:{q}"],
        stdout=subprocess.PIPE, text=True)
    line = owner.stdout.readline().split()
    owner_pd = int(line[1]) if line[:1] == ["id"] else None
    check("owner process bound its PD", owner_pd is not None, str(line))
    check_eq("queue-get shows the owner's PD", queue_pd(watcher, q), owner_pd)
    lck_owner = status_kb("VmLck", owner.pid)
    check_eq("owner's locked memory is its PD", lck_owner, 512 * 4)
    flow = threading.Thread(target=lambda: send(2000, sport, pps=4000))
    flow.start()
    time.sleep(0.3)
    owner.send_signal(signal.SIGKILL)
    owner.wait()
    flow.join()
    check_eq("owner killed under traffic: queue unbound",
             queue_pd(watcher, q), None)
    check("owner killed: PD gone",
          wait_for(5, lambda: owner_pd not in pd_ids(watcher)))
    mark = counted()
    check("host sends 300 frames after the kill", send(300, sport))
    check_eq("traffic continues after the kill", wait_counted(mark + 300),
             mark + 300)

    # --- the device goes away with a bound queue -------------------------------
    # Unbinding the driver unregisters the netdev: the provider's uninstall
    # op drops the binding, the driver destroys the queue's page_pool and
    # the pages come back. The driver is bound again afterwards.
    nl = netdev()
    mem = Memory(512)
    pd = pd_create(nl, [mem.range()])
    nl.do("pd-bind", {"id": pd, "ifindex": idx, "queue-id": q})
    vdev = os.path.basename(os.path.realpath(f"/sys/class/net/{nic}/device"))
    cleanup()
    sh(f"echo {vdev} > /sys/bus/virtio/drivers/virtio_net/unbind")
    info = pd_get(nl, pd)
    check_eq("device unregistered: the PD lost its binding",
             info.get("binding"), None)
    check("device unregistered: every page back in the PD",
          wait_for(5, lambda: pd_get(nl, pd)["posted"] == 512),
          str(pd_get(nl, pd)))
    sh(f"echo {vdev} > /sys/bus/virtio/drivers/virtio_net/bind")
    check("the driver binds the device again", wait_for(5, virtio_nic))
    del nl
    gc.collect()
    check_eq("and the PD goes with its socket", wait_for(
        5, lambda: pd not in pd_ids(watcher)), True)
finally:
    cleanup()

finish()
