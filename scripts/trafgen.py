#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Traffic source outside the test VM.

Runs in the VM's private network namespace (scripts/vm-run.sh), listens on
a unix socket that QEMU connects to a virtio-serial port of the guest, and
takes one JSON request per line from the guest:

  {"cmd": "send", "count": N, "size": BYTES, "dst": MAC, ...}
      Build N Ethernet frames of BYTES bytes (without FCS) and write them
      into the tap, i.e. into the guest NIC's receive path. Optional keys:
      src (MAC), vlan (id), src_ip, dst_ip, sport, dport, flows (UDP
      source ports sport..sport+flows-1, round robin, to spread frames
      over RX queues), pps (pace; 0 = as fast as possible), seq0 (first
      sequence number). Answers {"ok": true, "sent": N, "dropped": D},
      D being the frames the tap dropped meanwhile (ring full).
  {"cmd": "capture-start", "marker": HEX}
      Start recording the frames the guest sends out of the tap (the
      host side of its NIC), in a thread. marker (optional): bytes that
      must never appear in them.
  {"cmd": "capture-stop"}
      Stop, and answer {"ok": true, "frames": N, "seqs": [...],
      "dups": D, "bad": B, "marker": M}: every frame seen, the sequence
      numbers of the intact trafgen frames among them (sorted), how many
      of those came more than once, frames with the magic that were not
      intact, and frames that held the marker.
  {"cmd": "ping"}   answers {"ok": true}.

Each UDP payload starts with the magic b"ZCTG", the 32-bit big-endian
sequence number and 32-bit frame size, followed by bytes
(seq + i) & 0xff, so the receiver can check every byte.
"""

import argparse
import json
import os
import socket
import struct
import sys
import threading
import time

MAGIC = b"ZCTG"
PACKET_OUTGOING = 4
ETH_P_IP = 0x0800
ETH_P_8021Q = 0x8100


def mac_bytes(mac):
    b = bytes(int(x, 16) for x in mac.split(":"))
    if len(b) != 6:
        raise ValueError(f"bad MAC {mac!r}")
    return b


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def payload(seq, size, n):
    head = MAGIC + struct.pack("!II", seq, size)
    body = bytes((seq + i) & 0xFF for i in range(len(head), n))
    return (head + body)[:n]


def frame(req, seq, sport):
    size = int(req.get("size", 64))
    dst = mac_bytes(req["dst"])
    src = mac_bytes(req.get("src", "02:00:00:00:00:01"))
    vlan = req.get("vlan")
    eth = dst + src
    if vlan is not None:
        eth += struct.pack("!HH", ETH_P_8021Q, int(vlan) & 0xFFF)
    eth += struct.pack("!H", ETH_P_IP)
    hdrs = len(eth) + 20 + 8
    if size < hdrs + 12:
        raise ValueError(f"size {size} below the minimum {hdrs + 12}")
    if size > 9000:
        raise ValueError(f"size {size} above 9000")
    data = payload(seq, size, size - hdrs)
    sip = socket.inet_aton(req.get("src_ip", "192.0.2.1"))
    dip = socket.inet_aton(req.get("dst_ip", "192.0.2.2"))
    dport = int(req.get("dport", 9))
    udp_len = 8 + len(data)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, seq & 0xFFFF,
                     0x4000, 64, socket.IPPROTO_UDP, 0, sip, dip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    pseudo = sip + dip + struct.pack("!BBH", 0, socket.IPPROTO_UDP, udp_len)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0)
    ucs = csum(pseudo + udp + data) or 0xFFFF
    udp = udp[:6] + struct.pack("!H", ucs)
    return eth + ip + udp + data


def tx_dropped(ifname):
    with open(f"/sys/class/net/{ifname}/statistics/tx_dropped") as f:
        return int(f.read())


def send(sock, ifname, req):
    count = int(req.get("count", 1))
    if not 0 < count <= 10_000_000:
        raise ValueError("count must be 1..10000000")
    sport = int(req.get("sport", 10000))
    flows = max(1, int(req.get("flows", 1)))
    pps = float(req.get("pps", 0))
    seq0 = int(req.get("seq0", 0))
    # One template per flow; only the sequence-dependent payload varies,
    # so build frames on the fly (sizes are small, counts moderate).
    dropped = tx_dropped(ifname)
    start = time.monotonic()
    for i in range(count):
        f = frame(req, seq0 + i, sport + i % flows)
        while True:
            try:
                sock.send(f)
                break
            except (BlockingIOError, OSError) as e:
                if getattr(e, "errno", None) not in (105, 11):  # ENOBUFS, EAGAIN
                    raise
                time.sleep(0.0005)
        if pps > 0:
            due = start + (i + 1) / pps
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    # A tap drops frames its reader (QEMU) has not taken when its ring is
    # full; report them so that the guest can tell a loss in the VM from
    # one outside it.
    return {"ok": True, "sent": count,
            "dropped": tx_dropped(ifname) - dropped}


def intact_seq(buf):
    """Sequence number of an intact trafgen frame, else None."""
    off = buf.find(MAGIC)
    if off < 0 or off + 12 > len(buf):
        return None
    seq, size = struct.unpack("!II", buf[off + 4:off + 12])
    if size != len(buf):
        return None
    want = bytes((seq + i) & 0xFF for i in range(12, len(buf) - off))
    return seq if buf[off + 12:] == want else None


class Capture:
    """The frames the guest sends out of the tap, read in a thread."""

    def __init__(self, ifname, marker):
        self.marker = bytes.fromhex(marker) if marker else None
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW,
                                  socket.htons(3))      # ETH_P_ALL
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)
        self.sock.bind((ifname, 0))
        self.sock.settimeout(0.1)
        self.frames, self.seqs, self.bad, self.marked = 0, [], 0, 0
        self.stop = False
        self.t = threading.Thread(target=self.loop, daemon=True)
        self.t.start()

    def loop(self):
        while not self.stop:
            try:
                buf, addr = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            if addr[2] == PACKET_OUTGOING:      # ours, written into the tap
                continue
            self.frames += 1
            if self.marker and self.marker in buf:
                self.marked += 1
            seq = intact_seq(buf)
            if seq is not None:
                self.seqs.append(seq)
            elif MAGIC in buf:
                self.bad += 1

    def result(self):
        time.sleep(0.3)         # what is still on its way
        self.stop = True
        self.t.join()
        self.sock.close()
        uniq = sorted(set(self.seqs))
        return {"ok": True, "frames": self.frames, "seqs": uniq,
                "dups": len(self.seqs) - len(uniq), "bad": self.bad,
                "marker": self.marked}


def serve(conn, ifname):
    capture = None
    raw = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    raw.bind((ifname, 0))
    buf = b""
    while True:
        data = conn.recv(4096)
        if not data:
            return
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            line = line.strip()
            if not line:
                continue
            try:
                req = json.loads(line)
                cmd = req.get("cmd")
                if cmd == "ping":
                    rep = {"ok": True}
                elif cmd == "send":
                    rep = send(raw, ifname, req)
                elif cmd == "capture-start":
                    if capture:
                        capture.result()
                    capture = Capture(ifname, req.get("marker"))
                    rep = {"ok": True}
                elif cmd == "capture-stop":
                    if not capture:
                        raise ValueError("no capture running")
                    rep, capture = capture.result(), None
                else:
                    rep = {"ok": False, "error": f"unknown cmd {cmd!r}"}
            except (ValueError, KeyError, OSError) as e:
                rep = {"ok": False, "error": f"{type(e).__name__}: {e}"}
            conn.sendall((json.dumps(rep) + "\n").encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ifname", required=True, help="tap to write frames into")
    ap.add_argument("--socket", required=True, help="unix socket for QEMU")
    args = ap.parse_args()

    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = args.socket + ".tmp"
    srv.bind(tmp)
    srv.listen(1)
    os.rename(tmp, args.socket)
    while True:
        conn, _ = srv.accept()
        with conn:
            serve(conn, args.ifname)


if __name__ == "__main__":
    sys.exit(main())
