# SPDX-License-Identifier: GPL-2.0
"""A minimal vhost-net user: the RX half of a VM's virtio-net device.

This process plays the VMM and the guest at once: its own memory is the
"guest memory" (one region at guest physical address 0), the split
virtqueue lives there too, and it posts receive buffers, kicks vhost-net
and reads the frames vhost completes. Enough to test what a tap hands to
vhost-net; no TX queue, no interrupts (the call eventfd is polled).

With page=True the buffers have the page layout of page_pool_zc
(Documentation/networking/page_pool_zc.rst): buffer i is the rest of page
i of the buffer area from DATA_OFFSET - HDR_LEN, which vhost-net posts
into the protection domain of its tap (buf_range() is the memory to
register) and completes in place, out of order.

With iotlb=True the device is behind the guest's IOMMU
(VIRTIO_F_ACCESS_PLATFORM): vhost-net translates every guest address
through its device IOTLB, which this process fills and invalidates as
the VMM does for a vIOMMU (struct vhost_msg written to the vhost fd);
addresses are IOVAs, the same as guest addresses here.
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
VIRTIO_RING_F_EVENT_IDX = 1 << 29
VIRTIO_F_ACCESS_PLATFORM = 1 << 33
VHOST_F_LOG_ALL = 1 << 26
VHOST_VRING_F_LOG = 1 << 0
VRING_DESC_F_WRITE = 2
HDR_LEN = 12                    # struct virtio_net_hdr_mrg_rxbuf
LEGACY_HDR_LEN = 10             # struct virtio_net_hdr
DATA_OFFSET = 96                # PAGE_POOL_ZC_DATA_OFFSET
PAGE = 4096
VHOST_IOTLB_MSG = 1             # struct vhost_msg (version 1)
VHOST_IOTLB_MISS, VHOST_IOTLB_UPDATE, VHOST_IOTLB_INVALIDATE = 1, 2, 3
VHOST_ACCESS_RW = 3
VHOST_MSG_SIZE = 72


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
VHOST_SET_LOG_BASE = _iow(0x04, 8)
VHOST_SET_VRING_NUM = _iow(0x10, 8)
VHOST_SET_VRING_ADDR = _iow(0x11, 40)
VHOST_SET_VRING_BASE = _iow(0x12, 8)
VHOST_GET_VRING_BASE = _ioc(3, 0x12, 8)
VHOST_SET_VRING_KICK = _iow(0x20, 8)
VHOST_SET_VRING_CALL = _iow(0x21, 8)
VHOST_NET_SET_BACKEND = _iow(0x30, 8)


class VhostRx:
    """vhost-net RX queue (index 0) on a tap, with num buffers of bufsize,
    or of the page layout (page=True). spare pages follow the buffers.
    With event_idx, vhost-net signals the call eventfd only when the used
    index passes notify_at()'s. With iotlb, behind a device IOTLB that
    maps all of the guest memory. With legacy, without VIRTIO_F_VERSION_1:
    the 10-byte virtio-net header (the page layout placed for it)."""

    def __init__(self, tap_fd, num=256, bufsize=2048, page=False, spare=4,
                 event_idx=False, iotlb=False, legacy=False):
        self.num, self.page = num, page
        self.hlen = LEGACY_HDR_LEN if legacy else HDR_LEN
        self.bufsize = PAGE if page else bufsize
        # Ring at 0: descriptors, avail ring, used ring (4 KiB aligned),
        # then the buffers, then the spare pages.
        self.desc, self.avail = 0, 16 * num
        self.used = (self.avail + 6 + 2 * num + 4095) & ~4095
        self.bufs = (self.used + 6 + 8 * num + 4095) & ~4095
        self.spare = self.bufs + num * self.bufsize
        pages = (self.spare + 4095) // 4096 + spare
        self.mem = Memory(pages)
        self.m = self.mem.map
        self.fd = os.open("/dev/vhost-net", os.O_RDWR)
        self.kick = os.eventfd(0, os.EFD_NONBLOCK)
        self.call = os.eventfd(0, os.EFD_NONBLOCK)
        self.avail_idx = self.used_idx = 0

        fcntl.ioctl(self.fd, VHOST_SET_OWNER)
        have = struct.unpack("Q", fcntl.ioctl(self.fd, VHOST_GET_FEATURES,
                                              bytes(8)))[0]
        want = VHOST_NET_F_VIRTIO_NET_HDR
        if not legacy:
            want |= VIRTIO_F_VERSION_1
        if event_idx:
            want |= VIRTIO_RING_F_EVENT_IDX
        if iotlb:
            want |= VIRTIO_F_ACCESS_PLATFORM
        if have & want != want:
            raise OSError(f"vhost-net features {have:#x} lack {want:#x}")
        fcntl.ioctl(self.fd, VHOST_SET_FEATURES, struct.pack("Q", want))
        self.features = want
        self.log = None
        fcntl.ioctl(self.fd, VHOST_SET_MEM_TABLE,
                    struct.pack("II4Q", 1, 0, 0, self.mem.size,
                                self.mem.addr, 0))
        if iotlb:
            self.iotlb_map_all()
        fcntl.ioctl(self.fd, VHOST_SET_VRING_NUM, struct.pack("II", 0, num))
        fcntl.ioctl(self.fd, VHOST_SET_VRING_BASE, struct.pack("II", 0, 0))
        self.set_addr(0)
        fcntl.ioctl(self.fd, VHOST_SET_VRING_KICK,
                    struct.pack("Ii", 0, self.kick))
        fcntl.ioctl(self.fd, VHOST_SET_VRING_CALL,
                    struct.pack("Ii", 0, self.call))
        for i in range(num):
            self.set_desc(i, self.buf_addr(i), self.buf_len())
        self.post(range(num))
        fcntl.ioctl(self.fd, VHOST_NET_SET_BACKEND,
                    struct.pack("Ii", 0, tap_fd))

    def set_addr(self, flags):
        a = 0 if self.features & VIRTIO_F_ACCESS_PLATFORM else self.mem.addr
        fcntl.ioctl(self.fd, VHOST_SET_VRING_ADDR,
                    struct.pack("II4Q", 0, flags, a + self.desc,
                                a + self.used, a + self.avail, self.used))

    def start_log(self):
        """Dirty logging on, as a VMM does when migration starts: a bitmap
        of one bit per guest page (VHOST_SET_LOG_BASE), VHOST_F_LOG_ALL,
        and the used ring logged at its guest address."""
        self.log = Memory(-(-self.mem.size // (PAGE * 8 * PAGE)))
        fcntl.ioctl(self.fd, VHOST_SET_LOG_BASE,
                    struct.pack("Q", self.log.addr))
        fcntl.ioctl(self.fd, VHOST_SET_FEATURES,
                    struct.pack("Q", self.features | VHOST_F_LOG_ALL))
        self.set_addr(VHOST_VRING_F_LOG)

    def enable_iotlb(self):
        """VIRTIO_F_ACCESS_PLATFORM acked now, as by a guest that put its
        device behind its IOMMU (after a reset), on a running vhost-net:
        a new device IOTLB, which maps all of the guest memory
        (iotlb_map_all()), and the ring at its IOVAs."""
        self.features |= VIRTIO_F_ACCESS_PLATFORM
        fcntl.ioctl(self.fd, VHOST_SET_FEATURES,
                    struct.pack("Q", self.features))
        self.iotlb_map_all()
        self.set_addr(0)

    def iotlb_map_all(self):
        """The ring and the buffer area (with the spare pages) mapped as
        two entries: an invalidation removes every entry it touches."""
        self.iotlb_map(0, self.bufs)
        self.iotlb_map(self.bufs, self.mem.size - self.bufs)

    def _iotlb_msg(self, kind, iova, size):
        msg = struct.pack("i4xQQQBB", VHOST_IOTLB_MSG, iova, size,
                          self.mem.addr + iova, VHOST_ACCESS_RW, kind)
        os.write(self.fd, msg.ljust(VHOST_MSG_SIZE, b"\0"))

    def iotlb_map(self, iova, size):
        """The guest's IOMMU maps [iova, iova + size) to its guest memory
        at the same address (VHOST_IOTLB_UPDATE)."""
        self._iotlb_msg(VHOST_IOTLB_UPDATE, iova, size)

    def iotlb_unmap(self, iova, size):
        """The guest's IOMMU revokes [iova, iova + size)
        (VHOST_IOTLB_INVALIDATE): the device must not touch it any more.
        vhost removes every entry that overlaps it, whole."""
        self._iotlb_msg(VHOST_IOTLB_INVALIDATE, iova, size)

    def iotlb_misses(self, timeout=0.5):
        """IOVAs vhost-net asked the IOMMU to translate (VHOST_IOTLB_MISS
        messages read from the vhost fd), until none comes for timeout."""
        out = []
        while select.select([self.fd], [], [], timeout)[0]:
            msg = os.read(self.fd, VHOST_MSG_SIZE)
            kind, iova, _, _, _, sub = struct.unpack_from("i4xQQQBB", msg)
            if kind == VHOST_IOTLB_MSG and sub == VHOST_IOTLB_MISS:
                out.append(iova)
        return out

    def dirty_pages(self):
        """Guest page numbers logged dirty since clear_log()."""
        bits = int.from_bytes(self.log.map[:], "little")
        return {i for i in range(self.mem.size // PAGE) if bits >> i & 1}

    def clear_log(self):
        self.log.map[:] = bytes(self.log.size)

    def buf_addr(self, i):
        """Guest address of buffer i (its virtio-net header)."""
        if self.page:
            return self.bufs + i * PAGE + DATA_OFFSET - self.hlen
        return self.bufs + i * self.bufsize

    def buf_len(self):
        return PAGE - DATA_OFFSET + self.hlen if self.page else self.bufsize

    def buf_range(self):
        """The buffer area, as a pd-create range."""
        return self.mem.range(self.bufs, self.num * self.bufsize)

    def set_desc(self, i, addr, length):
        """Descriptor i: one device-writable buffer at guest address addr."""
        struct.pack_into("QIHH", self.m, self.desc + 16 * i, addr, length,
                         VRING_DESC_F_WRITE, 0)

    def post(self, ids):
        """Make the buffers of descriptors ids available, and kick."""
        for d in ids:
            slot = self.avail_idx % self.num
            struct.pack_into("H", self.m, self.avail + 4 + 2 * slot, d)
            self.avail_idx += 1
        struct.pack_into("H", self.m, self.avail + 2, self.avail_idx & 0xFFFF)
        self.kick_now()

    def notify_at(self, idx):
        """With event_idx: a signal once the used index passes idx (the
        used_event field after the avail ring)."""
        struct.pack_into("H", self.m, self.avail + 4 + 2 * self.num,
                         idx & 0xFFFF)

    def kick_now(self):
        os.eventfd_write(self.kick, 1)

    def used_entries(self, want, timeout=10, repost=True):
        """Up to want completions: (descriptor id, virtio-net header, frame),
        each buffer posted again unless repost is False."""
        out, end = [], time.time() + timeout
        while len(out) < want and time.time() < end:
            used = struct.unpack_from("H", self.m, self.used + 2)[0]
            while self.used_idx != used and len(out) < want:
                slot = self.used_idx % self.num
                d, length = struct.unpack_from("II", self.m,
                                               self.used + 4 + 8 * slot)
                # Where the descriptor points now (a test may move it).
                off = struct.unpack_from("Q", self.m, self.desc + 16 * d)[0] \
                    if d < self.num else 0
                h = min(length, self.hlen)
                out.append((d, bytes(self.m[off:off + h]),
                            bytes(self.m[off + h:off + length])))
                self.used_idx = (self.used_idx + 1) & 0xFFFF
                if repost:
                    self.post([d])
            if len(out) < want:
                select.select([self.call], [], [], 0.1)
                try:
                    os.eventfd_read(self.call)
                except BlockingIOError:
                    pass
        return out

    def frames(self, want, timeout=10):
        """Up to want frames vhost completed: (virtio-net header, frame)."""
        return [(h, f) for _, h, f in self.used_entries(want, timeout)]

    def set_backend(self, tap_fd):
        """The tap vhost-net serves; -1: none, as a VMM on reset."""
        fcntl.ioctl(self.fd, VHOST_NET_SET_BACKEND,
                    struct.pack("Ii", 0, tap_fd))

    def taken(self):
        """Buffers vhost-net took from the avail ring and has not put in the
        used ring (as far as used_entries() has read it)."""
        base = fcntl.ioctl(self.fd, VHOST_GET_VRING_BASE,
                           struct.pack("II", 0, 0))
        return (struct.unpack("II", base)[1] - self.used_idx) & 0xFFFF

    def stop(self):
        """Stop vhost-net (backend -1, as a VMM does on reset or migration)
        and count the buffers it took and did not give back."""
        self.set_backend(-1)
        self.used_entries(self.num, timeout=0.5, repost=False)
        return self.taken()

    def close(self):
        self.set_backend(-1)
        os.close(self.fd)
        os.close(self.kick)
        os.close(self.call)
