#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""page_pool_zc control plane: protection domains over netlink.

Registers this process's memory as protection domains (PDs) with the
kernel's YNL library, checks what pd-get reports and what the process's
locked memory shows, then every bad input the commands must refuse, each
with its errno and extack message, that a PD's metadata is charged to
its creator's memory cgroup and never allocated for a create over
RLIMIT_MEMLOCK, and that closing the socket that created a PD unpins its
pages (VmLck and /proc/vmstat's FOLL_PIN counts).
"""

import ctypes
import errno
import gc
import mmap
import os
import subprocess
import sys

from zclib import (Memory, check, check_eq, check_refused, finish,
                   foll_pins, ifindex, log, netdev, nl_extack, pd_create,
                   pd_get, pd_ids, pd_supported, sh, skip, status_kb,
                   virtio_nic, wait_for)

PAGES = 64
HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pd_tool.py")

if not pd_supported():
    skip("pd-create", "kernel without CONFIG_PAGE_POOL_ZC")
    sys.exit(0)

nic = virtio_nic()
lck0, pins0 = status_kb("VmLck"), foll_pins()

# --- create, get, dump ------------------------------------------------------
nl = netdev()
mem = Memory(PAGES)
pd = pd_create(nl, [mem.range()])
check("pd-create returns an id", pd > 0, f"id {pd}")
info = pd_get(nl, pd)
check_eq("pd-get: pages", info["pages"], PAGES)
check_eq("pd-get: every page posted (region mode)", info["posted"], PAGES)
check_eq("pd-get: nothing in flight", info["inflight"], 0)
check_eq("pd-get: mode region", info["mode"], "region")
check_eq("pd-get: counters start at 0",
         (info["rx-zc"], info["rx-copy"], info["starved"]), (0, 0, 0))
check("pd-get dump lists the PD", pd in pd_ids(nl))
check_eq("VmLck grew by the registered size", status_kb("VmLck") - lck0,
         PAGES * mmap.PAGESIZE // 1024)

# Two ranges, one of them a memfd mapping (guest RAM is often memfd).
fd = os.memfd_create("guest-ram")
os.ftruncate(fd, 16 * mmap.PAGESIZE)
shared = mmap.mmap(fd, 16 * mmap.PAGESIZE, flags=mmap.MAP_SHARED)
saddr = ctypes.addressof(ctypes.c_char.from_buffer(shared))
mem2 = Memory(8)
pd2 = pd_create(nl, [{"addr": saddr, "len": 16 * mmap.PAGESIZE},
                     mem2.range()], mode="page")
info = pd_get(nl, pd2)
check_eq("two ranges (memfd + anonymous): pages", info["pages"], 24)
check_eq("page mode: nothing posted at creation", info["posted"], 0)

# Memory the owner has only read maps the zero page: pinning it breaks
# copy-on-write, which changes the mapping, but leaves the pinned page the
# one mapped. It is no discarded page, to be copied and re-pinned.
mem3 = Memory(16)
bytes(mem3.map)
pd3 = pd_create(nl, [mem3.range()], mode="page")
check_eq("memory only read before pd-create: no page counted discarded",
         pd_get(nl, pd3)["discarded"], 0)

# --- bad input --------------------------------------------------------------
def create(ranges):
    return pd_create(nl, ranges)


check_refused("refused: address not page-aligned", errno.EINVAL,
              "page-aligned", create, [mem.range(offset=8)])
check_refused("refused: length not a page multiple", errno.EINVAL,
              "page-aligned", create, [mem.range(length=100)])
check_refused("refused: empty range", errno.EINVAL, "page-aligned",
              create, [mem.range(length=0)])
gap = mmap.mmap(-1, 4 * mmap.PAGESIZE)
gap_addr = ctypes.addressof(ctypes.c_char.from_buffer(gap))
libc = ctypes.CDLL(None, use_errno=True)
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.munmap(ctypes.c_void_p(gap_addr), 4 * mmap.PAGESIZE)
lck1 = status_kb("VmLck")
check_refused("refused: two ranges that overlap", errno.EINVAL,
              "range 1 overlaps range 0", create,
              [mem.range(length=8 * mmap.PAGESIZE),
               mem.range(offset=4 * mmap.PAGESIZE,
                         length=8 * mmap.PAGESIZE)])
check_refused("refused: the same range twice", errno.EINVAL,
              "range 2 overlaps range 0", create,
              [mem.range(length=mmap.PAGESIZE),
               mem.range(offset=2 * mmap.PAGESIZE, length=mmap.PAGESIZE),
               mem.range(length=mmap.PAGESIZE)])
check_eq("overlapping ranges: nothing pinned", status_kb("VmLck"), lck1)
check_refused("refused: range not mapped", errno.EFAULT, "not mapped",
              create, [{"addr": gap_addr, "len": 4 * mmap.PAGESIZE}])
pins1 = foll_pins()
check_refused("refused: a second range not mapped", errno.EFAULT,
              "not mapped", create,
              [mem.range(length=4 * mmap.PAGESIZE),
               {"addr": gap_addr, "len": 4 * mmap.PAGESIZE}])
check_eq("and the first range's pages unpinned again (/proc/vmstat)",
         foll_pins() - pins1, 0)
check_refused("refused: range wrapping the address space", errno.E2BIG,
              "too large", create, [{"addr": 1 << 63, "len": 1 << 63}])
many = Memory(65)
check_refused("refused: more than 64 ranges", errno.E2BIG, "more than 64",
              create, [many.range(offset=i * mmap.PAGESIZE,
                                  length=mmap.PAGESIZE) for i in range(65)])
err, ext = nl_extack(lambda: nl.do("pd-create", {"mode": "region"}))
check("refused: no range (EINVAL, the extack names the missing attribute)",
      err == errno.EINVAL and ext.get("miss-type") == "range",
      f"errno {err} extack {ext}")
check_eq("refused requests left VmLck unchanged",
         status_kb("VmLck") - lck0,
         (PAGES + 24 + 16) * mmap.PAGESIZE // 1024)


def helper(args, prefix=""):
    r = subprocess.run(f"{prefix} /usr/bin/python3 {HELPER} {args}",
                       shell=True, capture_output=True, text=True)
    if r.returncode:
        log(r.stderr.strip())
    return r


# Over RLIMIT_MEMLOCK, in a process without CAP_IPC_LOCK (root has it and
# bypasses the limit).
r = helper("try-create --pages 64",
           "setpriv --bounding-set=-ipc_lock prlimit --memlock=65536:65536")
check("refused: over the locked memory limit (no CAP_IPC_LOCK)",
      "errno 12" in r.stdout and "RLIMIT_MEMLOCK" in r.stdout, r.stdout.strip())
r = helper("try-create --pages 8",
           "setpriv --bounding-set=-ipc_lock prlimit --memlock=65536:65536")
check("accepted: within the locked memory limit", "id " in r.stdout,
      r.stdout.strip())


# Memory cgroups: a PD's metadata (about 60 bytes a page) is charged to
# its creator, and a create over the limit allocates none of it first.
def cgroup(name):
    """A fresh child of the root memory cgroup: its path, and a command
    prefix that runs what follows in it."""
    with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
        f.write("+memory")
    path = f"/sys/fs/cgroup/{name}"
    if os.path.isdir(path):
        os.rmdir(path)
    os.mkdir(path)
    return path, f"sh -c 'echo $$ > {path}/cgroup.procs && exec \"$@\"' sh"


def cg_read(path, what):
    with open(f"{path}/{what}") as f:
        return int(f.read())


MB = 1 << 20
n = 32768
cg, run_in = cgroup("zc-charge")
r = helper(f"charge --pages {n}", run_in)
got = int(r.stdout.split()[1]) if r.stdout.startswith("charged") else 0
log(f"pd-create of {n} pages: memory.current + {got // 1024} KiB")
check(f"a PD of {n} pages charges its metadata to its creator's memory "
      f"cgroup (>= {n * 56 // 1024} KiB)", got >= n * 56,
      f"{r.stdout.strip()} {r.stderr.strip()[-200:]}")
os.rmdir(cg)

big = 2 << 20                       # 8 GiB: 120 MiB of metadata
peaks, out = [], []
for pages in (8, big):
    cg, run_in = cgroup("zc-peak")
    r = helper(f"try-create --noreserve --pages {pages}",
               "setpriv --bounding-set=-ipc_lock prlimit "
               f"--memlock=65536:65536 {run_in}")
    peaks.append(cg_read(cg, "memory.peak"))
    out.append(r.stdout.strip())
    os.rmdir(cg)
check(f"in a memory cgroup: 8 pages accepted, {big} pages over "
      "RLIMIT_MEMLOCK refused", out[0].startswith("id ") and
      out[1].startswith("errno 12") and "RLIMIT_MEMLOCK" in out[1], str(out))
check("before anything was allocated by the page (memory.peak "
      f"{peaks[1] // 1024} KiB, {peaks[0] // 1024} KiB for an 8-page PD)",
      "RLIMIT_MEMLOCK" in out[1] and peaks[1] - peaks[0] < 16 * MB,
      str(peaks))
r = helper("try-create --pages 8", "setpriv --bounding-set=-net_admin")
check("refused: caller without CAP_NET_ADMIN", "errno 1 " in r.stdout,
      r.stdout.strip())


def bind(pd_id, ifidx, q):
    return nl.do("pd-bind", {"id": pd_id, "ifindex": ifidx, "queue-id": q})


check_refused("bind refused: unknown PD", errno.ENOENT,
              "unknown protection domain", bind, 999999, 1, 0)
check_refused("bind refused: unknown ifindex", errno.ENODEV,
              "no such device", bind, pd, 999999, 0)
if nic:
    check_refused("bind refused: queue out of range", errno.ERANGE,
                  "out of range", bind, pd, ifindex(nic), 1000)
sh("ip link add zcv0 type veth peer name zcv1")
check_refused("bind refused: driver without queue management ops (veth)",
              errno.EOPNOTSUPP, "queue management", bind, pd,
              ifindex("zcv0"), 0)
sh("ip link del zcv0")
# A device of another namespace, with an ifindex free here: moved there.
sh("ip netns add zc-other && ip link add zcd0 index 4242 type veth "
   "peer name zcd1 && ip link set zcd0 netns zc-other")
check_refused("bind refused: device in another network namespace",
              errno.ENODEV, "no such device", bind, pd, 4242, 0)
sh("ip netns del zc-other; ip link del zcd1 2>/dev/null || true", check_rc=False)
check_refused("unbind refused: queue not bound", errno.ENOENT, "not bound",
              lambda: nl.do("pd-unbind", {"id": pd, "ifindex": ifindex(nic),
                                          "queue-id": 0}))
check_refused("pd-get refused: unknown PD", errno.ENOENT, "unknown",
              pd_get, nl, 999999)

# A PD is visible only in its network namespace.
sh("ip netns add zc-peek")
out = sh(f"ip netns exec zc-peek /usr/bin/python3 {HELPER} ids")
sh("ip netns del zc-peek")
check("pd-get dump in another namespace does not list this PD",
      str(pd) not in out.split(), out.strip())

# --- lifetime: bound to the socket ------------------------------------------
other_nl = netdev()
check("another socket sees the PD", pd in pd_ids(other_nl))
del nl
gc.collect()
gone = wait_for(5, lambda: pd not in pd_ids(other_nl)
                and pd2 not in pd_ids(other_nl))
check("closing the creating socket destroys its PDs", gone)
check_eq("closing the socket unpinned every page (VmLck back)",
         wait_for(5, lambda: status_kb("VmLck") == lck0) and
         status_kb("VmLck"), lck0)
check_eq("and /proc/vmstat: as many pages unpinned as pinned",
         wait_for(5, lambda: foll_pins() == pins0) and foll_pins() - pins0, 0)

# The owner killed: its socket goes with it, and so do its pins.
owner = subprocess.Popen(["/usr/bin/python3", HELPER, "hold", "--pages",
                          str(PAGES)], stdout=subprocess.PIPE, text=True)
line = owner.stdout.readline().strip()
held = foll_pins() - pins0
check(f"a PD of {PAGES} pages pins {PAGES} pages (/proc/vmstat)",
      line.startswith("id ") and held >= PAGES, f"{line!r}, {held} pinned")
owner.kill()
owner.wait()
check_eq("its owner killed: the PD goes, every page unpinned (/proc/vmstat)",
         wait_for(5, lambda: foll_pins() == pins0 and not pd_ids(other_nl))
         and foll_pins() - pins0, 0)

finish()
