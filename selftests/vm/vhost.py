# SPDX-License-Identifier: GPL-2.0
"""A minimal vhost-net user: the RX half of a VM's virtio-net device.

This process plays the VMM and the guest at once: its own memory is the
"guest memory" (one region at guest physical address 0), the split
virtqueue lives there too, and it posts receive buffers, kicks vhost-net
and reads the frames vhost completes. Enough to test what a tap hands to
vhost-net; no TX queue, no interrupts (the call eventfd is polled).
"""

import fcntl
import os
import select
import struct
import time

from zclib import Memory

VHOST = 0xAF
VIRTIO_F_VERSION_1 = 1 << 32
VHOST_NET_F_VIRTIO_NET_HDR = 1 << 27
VRING_DESC_F_WRITE = 2
HDR_LEN = 12                    # struct virtio_net_hdr_mrg_rxbuf


def _ioc(direction, nr, size):
    return (direction << 30) | (size << 16) | (VHOST << 8) | nr


def _iow(nr, size):
    return _ioc(1, nr, size)


def _ior(nr, size):
    return _ioc(2, nr, size)


VHOST_GET_FEATURES = _ior(0x00, 8)
VHOST_SET_FEATURES = _iow(0x00, 8)
VHOST_SET_OWNER = _ioc(0, 0x01, 0)
VHOST_SET_MEM_TABLE = _iow(0x03, 8)
VHOST_SET_VRING_NUM = _iow(0x10, 8)
VHOST_SET_VRING_ADDR = _iow(0x11, 40)
VHOST_SET_VRING_BASE = _iow(0x12, 8)
VHOST_SET_VRING_KICK = _iow(0x20, 8)
VHOST_SET_VRING_CALL = _iow(0x21, 8)
VHOST_NET_SET_BACKEND = _iow(0x30, 8)


class VhostRx:
    """vhost-net RX queue (index 0) on a tap, with num buffers of bufsize."""

    def __init__(self, tap_fd, num=256, bufsize=2048):
        self.num, self.bufsize = num, bufsize
        # Ring at 0: descriptors, avail ring, used ring (4 KiB aligned),
        # then the buffers.
        self.desc, self.avail = 0, 16 * num
        self.used = (self.avail + 6 + 2 * num + 4095) & ~4095
        self.bufs = (self.used + 6 + 8 * num + 4095) & ~4095
        pages = (self.bufs + num * bufsize + 4095) // 4096
        self.mem = Memory(pages)
        self.m = self.mem.map
        self.fd = os.open("/dev/vhost-net", os.O_RDWR)
        self.kick = os.eventfd(0, os.EFD_NONBLOCK)
        self.call = os.eventfd(0, os.EFD_NONBLOCK)
        self.avail_idx = self.used_idx = 0

        fcntl.ioctl(self.fd, VHOST_SET_OWNER)
        have = struct.unpack("Q", fcntl.ioctl(self.fd, VHOST_GET_FEATURES,
                                              bytes(8)))[0]
        want = VIRTIO_F_VERSION_1 | VHOST_NET_F_VIRTIO_NET_HDR
        if have & want != want:
            raise OSError(f"vhost-net features {have:#x} lack {want:#x}")
        fcntl.ioctl(self.fd, VHOST_SET_FEATURES, struct.pack("Q", want))
        fcntl.ioctl(self.fd, VHOST_SET_MEM_TABLE,
                    struct.pack("II4Q", 1, 0, 0, self.mem.size,
                                self.mem.addr, 0))
        a = self.mem.addr
        fcntl.ioctl(self.fd, VHOST_SET_VRING_NUM, struct.pack("II", 0, num))
        fcntl.ioctl(self.fd, VHOST_SET_VRING_BASE, struct.pack("II", 0, 0))
        fcntl.ioctl(self.fd, VHOST_SET_VRING_ADDR,
                    struct.pack("II4Q", 0, 0, a + self.desc, a + self.used,
                                a + self.avail, 0))
        fcntl.ioctl(self.fd, VHOST_SET_VRING_KICK,
                    struct.pack("Ii", 0, self.kick))
        fcntl.ioctl(self.fd, VHOST_SET_VRING_CALL,
                    struct.pack("Ii", 0, self.call))
        for i in range(num):
            struct.pack_into("QIHH", self.m, self.desc + 16 * i,
                             self.bufs + i * bufsize, bufsize,
                             VRING_DESC_F_WRITE, 0)
        self.post(num)
        fcntl.ioctl(self.fd, VHOST_NET_SET_BACKEND,
                    struct.pack("Ii", 0, tap_fd))

    def post(self, n):
        """Make n more buffers available (descriptor i stays buffer i)."""
        for _ in range(n):
            slot = self.avail_idx % self.num
            struct.pack_into("H", self.m, self.avail + 4 + 2 * slot, slot)
            self.avail_idx += 1
        struct.pack_into("H", self.m, self.avail + 2, self.avail_idx & 0xFFFF)
        os.eventfd_write(self.kick, 1)

    def frames(self, want, timeout=10):
        """Up to want frames vhost completed: (virtio-net header, frame)."""
        out, end = [], time.time() + timeout
        while len(out) < want and time.time() < end:
            used = struct.unpack_from("H", self.m, self.used + 2)[0]
            while self.used_idx != used and len(out) < want:
                slot = self.used_idx % self.num
                d, length = struct.unpack_from("II", self.m,
                                               self.used + 4 + 8 * slot)
                off = self.bufs + d * self.bufsize
                out.append((bytes(self.m[off:off + HDR_LEN]),
                            bytes(self.m[off + HDR_LEN:off + length])))
                self.used_idx = (self.used_idx + 1) & 0xFFFF
                self.post(1)
            if len(out) < want:
                select.select([self.call], [], [], 0.1)
                try:
                    os.eventfd_read(self.call)
                except BlockingIOError:
                    pass
        return out

    def close(self):
        fcntl.ioctl(self.fd, VHOST_NET_SET_BACKEND, struct.pack("Ii", 0, -1))
        os.close(self.fd)
        os.close(self.kick)
        os.close(self.call)
