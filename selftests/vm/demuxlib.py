# SPDX-License-Identifier: GPL-2.0
"""What the demux selftests share: frames from the host's traffic
generator, taps standing in for VMs, and the zc_demux program filled with
bpftool (the commands README.md shows)."""

import fcntl
import os
import struct

from zclib import (BPF, GUEST_IP, PIN, ethtool_sum, ifindex, log, netdev, sh,
                   tg, wait_for)

DEMUX = f"{PIN}/demux"
BCAST = "ff:ff:ff:ff:ff:ff"
MAC_X = "52:54:00:00:00:99"         # nobody's
_seq = 0


def mac_hex(mac):
    return " ".join(mac.split(":"))


def le32(v):
    return " ".join(str(b) for b in v.to_bytes(4, "little"))


def send(count, sport, dst, size=300, pps=3000, vlan=None, lossy=False):
    """count frames of one flow: their sequence numbers, or None if the
    generator lost some (unless lossy: a VM may be starved on purpose)."""
    r = send_counted(count, sport, dst, size, pps, vlan)
    return r[0] if r[0] is not None and (lossy or not r[1]) else None


def send_counted(count, sport, dst, size=300, pps=3000, vlan=None):
    """count frames of one flow: (their sequence numbers, how many of them
    the host's tap dropped), or (None, None) if the generator failed."""
    global _seq
    req = {"cmd": "send", "count": count, "size": size, "dst": dst,
           "dst_ip": GUEST_IP, "sport": sport, "flows": 1, "pps": pps,
           "seq0": _seq}
    if vlan is not None:
        req["vlan"] = vlan
    first = _seq
    _seq += count
    r = tg(req)
    if not r.get("ok") or r.get("dropped"):
        log(f"trafgen: {r}")
    if not r.get("ok"):
        return None, None
    return range(first, first + count), r.get("dropped", 0)


def sent_seq():
    """The sequence number the next frame sent will have."""
    return _seq


def frame_seq(buf):
    """Sequence number of an intact trafgen frame, else None."""
    off = buf.find(b"ZCTG")
    if off < 0 or off + 12 > len(buf):
        return None
    s, size = struct.unpack("!II", buf[off + 4:off + 12])
    if size not in (len(buf), len(buf) + 4):    # + 4: VLAN tag taken off
        return None
    want = bytes((s + i) & 0xFF for i in range(12, len(buf) - off))
    return s if buf[off + 12:] == want else None


def rx_packets(nic):
    """Frames received by each RX queue of nic (netdev qstats)."""
    per = {}
    for e in netdev().dump("qstats-get", {"ifindex": ifindex(nic),
                                          "scope": "queue"}):
        if e.get("queue-type") == "rx":
            per[e["queue-id"]] = e.get("rx-packets", 0)
    return [per.get(q, 0) for q in sorted(per)]


def rx_both_queues(nic):
    """Broadcast frames of 16 flows: how many each RX queue of nic got
    (10 each: 160 in all, both queues some, when all is well)."""
    before = rx_packets(nic)
    for sport in range(6000, 6016):
        send(10, sport, BCAST)
    wait_for(5, lambda: sum(rx_packets(nic)) - sum(before) >= 160)
    return [a - b for a, b in zip(rx_packets(nic), before)]


def open_tap(name):
    """A tap (IFF_TAP | IFF_NO_PI), up, its fd non-blocking; without IPv6,
    so that the host sends nothing into it on its own."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, 0x400454CA,                       # TUNSETIFF
                struct.pack("16sH", name.encode(), 0x0002 | 0x1000))
    sh(f"sysctl -qw net.ipv6.conf.{name}.disable_ipv6=1")
    sh(f"ip link set {name} up")
    return fd


def find_sports(nic, vlan=None):
    """A UDP source port for each RX queue (the flow hash picks the queue).
    The host's tap hashes a tagged frame with its VLAN id, so a flow's
    queue depends on its tag too: pass vlan for tagged frames."""
    prog, maps = f"{PIN}/demux_probe", f"{PIN}/demux_probe_maps"
    sh(f"mkdir -p {PIN}; rm -rf {prog} {maps}")
    sh(f"bpftool prog load {BPF}/xdp_count.bpf.o {prog} type xdp "
       f"pinmaps {maps}")
    sh(f"bpftool net attach xdpdrv pinned {prog} dev {nic}")
    sh(f"bpftool map update pinned {maps}/config key 0 0 0 0 "
       f"value 1 0 0 0 0 0 0 0")                     # XDP_DROP
    found = {}
    for sport in range(5000, 5016):
        before = [ethtool_sum(nic, f"^rx{q}_xdp_packets$") for q in (0, 1)]
        send(10, sport, MAC_X, vlan=vlan)
        wait_for(5, lambda: sum(ethtool_sum(nic, f"^rx{q}_xdp_packets$")
                                for q in (0, 1)) - sum(before) >= 10)
        d = [ethtool_sum(nic, f"^rx{q}_xdp_packets$") - before[q]
             for q in (0, 1)]
        q = 0 if d[0] else 1
        if d[q] == 10:
            found.setdefault(q, sport)
        if len(found) == 2:
            break
    sh(f"bpftool net detach xdpdrv dev {nic}")
    sh(f"rm -rf {prog} {maps}")
    return found


def load_demux(nic, path=DEMUX, replace=False):
    """zc_demux attached to nic, its maps pinned at path, VLAN 0's segment
    seg0. With replace, the program attached to nic is replaced by this
    one: fill the new maps (add_port(..., path=path)) before."""
    sh(f"rm -rf {path}; mkdir -p {path}")
    sh(f"bpftool prog load {BPF}/zc_demux.bpf.o {path}/prog type xdp "
       f"pinmaps {path}")
    sh(f"bpftool map create {path}/seg0 type devmap_hash key 4 value 4 "
       f"entries 256 name seg0")
    sh(f"bpftool map update pinned {path}/segments key 0 0 0 0 "
       f"value pinned {path}/seg0")
    if not replace:
        attach_demux(nic, path)


def attach_demux(nic, path=DEMUX):
    """Attach the program at path to nic, replacing the one there."""
    sh(f"bpftool net attach xdpdrv pinned {path}/prog dev {nic} overwrite")


def add_port(ifidx, mac, segment=True, path=DEMUX):
    """Frames for mac go to device ifidx; broadcast too if segment."""
    i = le32(ifidx)
    sh(f"bpftool map update pinned {path}/ports key {i} value {i}")
    sh(f"bpftool map update pinned {path}/fdb key hex {mac_hex(mac)} 00 00 "
       f"value {i}")
    if segment:
        sh(f"bpftool map update pinned {path}/seg0 key {i} value {i}")


def pd_counters(nl, pd, names=("rx-zc", "rx-copy", "redirect-zc",
                               "redirect-copy", "misdirected", "port-copy",
                               "guest-zc", "post-refused", "drop-pass",
                               "drop-tx", "drop-redirect", "drop-port",
                               "reclaim-retry", "discarded")):
    from zclib import pd_get
    info = pd_get(nl, pd)
    return {k: info.get(k, 0) for k in names}


def nic_drops(nic):
    """Frames nic's driver dropped on all its RX queues (ethtool -S)."""
    from zclib import ethtool_sum
    return ethtool_sum(nic, r"^rx\d+_(xdp_)?drops$")


def delta(before, after):
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}
