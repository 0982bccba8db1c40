# SPDX-License-Identifier: GPL-2.0
"""A minimal AF_XDP receiver, with ctypes only.

One socket on one RX queue, its UMEM in this process's memory: fill ring,
RX ring, and the completion ring the kernel requires. bpf/xsk_rx.bpf.o,
attached to the NIC, redirects the queue's frames to the socket once it
is in the pinned xskmap (insert()).
"""

import ctypes
import mmap
import os
import struct

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

AF_XDP, SOCK_RAW, SOL_XDP = 44, 3, 283
XDP_MMAP_OFFSETS, XDP_RX_RING, XDP_UMEM_REG = 1, 2, 4
XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING = 5, 6
XDP_COPY, XDP_ZEROCOPY = 1 << 1, 1 << 2
XDP_PGOFF_RX_RING = 0
XDP_UMEM_PGOFF_FILL_RING = 0x100000000
XDP_UMEM_PGOFF_COMPLETION_RING = 0x180000000
NR_BPF = 321
BPF_MAP_UPDATE_ELEM, BPF_OBJ_GET = 2, 7
CHUNK = 4096


def _check(ret, what):
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def _setsockopt(fd, opt, value):
    buf = ctypes.create_string_buffer(value)
    _check(libc.setsockopt(fd, SOL_XDP, opt, buf, len(value)), f"opt {opt}")


class Ring:
    """A producer/consumer ring of n entries of size bytes, mmapped."""

    def __init__(self, fd, offsets, pgoff, n, size):
        prod, cons, desc, _ = offsets
        self.map = mmap.mmap(fd, desc + n * size, offset=pgoff)
        self.prod, self.cons, self.desc = prod, cons, desc
        self.n, self.size = n, size

    def get(self, which):
        return struct.unpack_from("I", self.map, which)[0]

    def put(self, which, v):
        struct.pack_into("I", self.map, which, v & 0xFFFFFFFF)


class XskRx:
    """AF_XDP socket bound to (ifindex, queue), with frames chunks of UMEM:
    in zero-copy mode if the driver offers it, else in copy mode (.mode
    says which)."""

    def __init__(self, ifindex, queue, frames=1024):
        self.frames = frames
        self.umem = mmap.mmap(-1, frames * CHUNK)
        addr = ctypes.addressof(ctypes.c_char.from_buffer(self.umem))
        self.fd = _check(libc.socket(AF_XDP, SOCK_RAW, 0), "socket")
        _setsockopt(self.fd, XDP_UMEM_REG,
                    struct.pack("QQIIII", addr, frames * CHUNK, CHUNK, 0, 0,
                                0))
        for opt in (XDP_UMEM_FILL_RING, XDP_UMEM_COMPLETION_RING,
                    XDP_RX_RING):
            _setsockopt(self.fd, opt, struct.pack("I", frames))
        off = ctypes.create_string_buffer(128)
        optlen = ctypes.c_uint32(128)
        _check(libc.getsockopt(self.fd, SOL_XDP, XDP_MMAP_OFFSETS, off,
                               ctypes.byref(optlen)), "mmap offsets")
        o = struct.unpack("16Q", off.raw)
        self.rx = Ring(self.fd, o[0:4], XDP_PGOFF_RX_RING, frames, 16)
        self.fill = Ring(self.fd, o[8:12], XDP_UMEM_PGOFF_FILL_RING, frames,
                         8)
        self.comp = Ring(self.fd, o[12:16], XDP_UMEM_PGOFF_COMPLETION_RING,
                         frames, 8)
        self.give(range(frames))
        for self.mode, flag in (("zero-copy", XDP_ZEROCOPY),
                                ("copy", XDP_COPY)):
            sxdp = struct.pack("HHIII", AF_XDP, flag, ifindex, queue, 0)
            if libc.bind(self.fd, sxdp, len(sxdp)) == 0:
                break
            if ctypes.get_errno() != 95:        # EOPNOTSUPP: try copy
                _check(-1, f"bind ({self.mode})")
        else:
            _check(-1, "bind")

    def give(self, chunks):
        """Put chunks (indexes) on the fill ring."""
        p = self.fill.get(self.fill.prod)
        for c in chunks:
            struct.pack_into("Q", self.fill.map,
                             self.fill.desc + (p % self.fill.n) * 8,
                             c * CHUNK)
            p += 1
        self.fill.put(self.fill.prod, p)

    def pending(self):
        """Frames received and not consumed yet."""
        return (self.rx.get(self.rx.prod) - self.rx.get(self.rx.cons)) & \
            0xFFFFFFFF

    def take(self):
        """Consume every received frame: [bytes], chunks back on the fill
        ring."""
        c, p = self.rx.get(self.rx.cons), self.rx.get(self.rx.prod)
        out, chunks = [], []
        while c != p:
            a, n, _ = struct.unpack_from("QII", self.rx.map,
                                         self.rx.desc + (c % self.rx.n) * 16)
            out.append(bytes(self.umem[a:a + n]))
            chunks.append(a // CHUNK)
            c = (c + 1) & 0xFFFFFFFF
        self.rx.put(self.rx.cons, c)
        self.give(chunks)
        return out

    def insert(self, xskmap_path, key):
        """Put this socket at key of the pinned xskmap."""
        path = ctypes.create_string_buffer(xskmap_path.encode())
        attr = struct.pack("QII", ctypes.addressof(path), 0, 0)
        attr = ctypes.create_string_buffer(attr, 128)
        mfd = _check(libc.syscall(NR_BPF, BPF_OBJ_GET, attr, 128), "obj get")
        k, v = ctypes.c_uint32(key), ctypes.c_uint32(self.fd)
        attr = ctypes.create_string_buffer(struct.pack(
            "IIQQQ", mfd, 0, ctypes.addressof(k), ctypes.addressof(v), 0),
            128)
        _check(libc.syscall(NR_BPF, BPF_MAP_UPDATE_ELEM, attr, 128),
               "xskmap update")
        os.close(mfd)

    def close(self):
        os.close(self.fd)
