#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Receive scripts/trafgen.py datagrams on a UDP port and check every byte.

Prints one JSON line: {"received": N, "valid": N, "bad": N}, once COUNT
datagrams arrived or no datagram came for IDLE seconds. A datagram is
valid when it carries the trafgen magic, its frame size matches its
length and every payload byte follows the trafgen pattern.
"""

import argparse
import json
import socket
import struct
import sys

MAGIC = b"ZCTG"
HDRS = 14 + 20 + 8   # Ethernet, IPv4, UDP: frame size minus payload


def valid(data):
    if len(data) < 12 or data[:4] != MAGIC:
        return False
    seq, size = struct.unpack("!II", data[4:12])
    if size - HDRS != len(data):
        return False
    return all(b == (seq + i) & 0xFF for i, b in enumerate(data[12:], 12))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=9)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--idle", type=float, default=5.0)
    ap.add_argument("--ready", help="file to create once bound")
    args = ap.parse_args()

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind(("0.0.0.0", args.port))
    s.settimeout(args.idle)
    if args.ready:
        open(args.ready, "w").close()
    got = good = 0
    while got < args.count:
        try:
            data = s.recv(65536)
        except socket.timeout:
            break
        got += 1
        good += valid(data)
    print(json.dumps({"received": got, "valid": good, "bad": got - good}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
