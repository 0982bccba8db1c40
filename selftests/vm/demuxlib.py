# SPDX-License-Identifier: GPL-2.0
"""What the demux selftests share: frames from the host's traffic
generator, taps standing in for VMs, and the zc_demux program filled with
bpftool (the commands README.md shows)."""

import fcntl
import os
import struct

from zclib import BPF, GUEST_IP, PIN, ethtool_sum, log, sh, tg, wait_for

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
    global _seq
    req = {"cmd": "send", "count": count, "size": size, "dst": dst,
           "dst_ip": GUEST_IP, "sport": sport, "flows": 1, "pps": pps,
           "seq0": _seq}
    if vlan is not None:
        req["vlan"] = vlan
    first = _seq
    _seq += count
    r = tg(req)
    if not r.get("ok") or (r.get("dropped") and not lossy):
        log(f"trafgen: {r}")
        return None
    return range(first, first + count)


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


def open_tap(name):
    """A tap (IFF_TAP | IFF_NO_PI), up, its fd non-blocking; without IPv6,
    so that the host sends nothing into it on its own."""
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, 0x400454CA,                       # TUNSETIFF
                struct.pack("16sH", name.encode(), 0x0002 | 0x1000))
    sh(f"sysctl -qw net.ipv6.conf.{name}.disable_ipv6=1")
    sh(f"ip link set {name} up")
    return fd


def find_sports(nic):
    """A UDP source port for each RX queue (the flow hash picks the queue)."""
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
        send(10, sport, MAC_X)
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


def load_demux(nic):
    """zc_demux attached to nic, its maps pinned, VLAN 0's segment seg0."""
    sh(f"rm -rf {DEMUX}; mkdir -p {DEMUX}")
    sh(f"bpftool prog load {BPF}/zc_demux.bpf.o {DEMUX}/prog type xdp "
       f"pinmaps {DEMUX}")
    sh(f"bpftool net attach xdpdrv pinned {DEMUX}/prog dev {nic}")
    sh(f"bpftool map create {DEMUX}/seg0 type devmap_hash key 4 value 4 "
       f"entries 256 name seg0")
    sh(f"bpftool map update pinned {DEMUX}/segments key 0 0 0 0 "
       f"value pinned {DEMUX}/seg0")


def add_port(ifidx, mac, segment=True):
    """Frames for mac go to device ifidx; broadcast too if segment."""
    i = le32(ifidx)
    sh(f"bpftool map update pinned {DEMUX}/ports key {i} value {i}")
    sh(f"bpftool map update pinned {DEMUX}/fdb key hex {mac_hex(mac)} 00 00 "
       f"value {i}")
    if segment:
        sh(f"bpftool map update pinned {DEMUX}/seg0 key {i} value {i}")


def pd_counters(nl, pd, names=("rx-zc", "rx-copy", "redirect-zc",
                               "redirect-copy", "misdirected", "port-copy",
                               "guest-zc", "post-refused")):
    from zclib import pd_get
    info = pd_get(nl, pd)
    return {k: info.get(k, 0) for k in names}


def delta(before, after):
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}
