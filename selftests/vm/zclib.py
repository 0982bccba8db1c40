# SPDX-License-Identifier: GPL-2.0
"""Helpers for the page_pool_zc selftests written in Python.

The same conventions as selftests/lib.sh: one "ok NAME" or "not ok NAME #
why" line per check (selftests/run.sh numbers them), the repository found
from this file's path, the kernel's own YNL library from the unpacked
source (build/linux) to speak the netdev netlink family.
"""

import ctypes
import glob
import json
import mmap
import os
import re
import subprocess
import sys
import time

SELFTESTS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(SELFTESTS)
KSRC = os.environ.get("ZC_KSRC", os.path.join(ROOT, "build", "linux"))
BPF = os.path.join(ROOT, "build", "bpf")
PIN = "/sys/fs/bpf/zc"
GUEST_IP = "192.0.2.2"
SPEC = os.path.join(KSRC, "Documentation/netlink/specs/netdev.yaml")
SCHEMA = os.path.join(KSRC, "Documentation/netlink/genetlink.yaml")

sys.path.insert(0, os.path.join(KSRC, "tools", "net", "ynl"))
from lib import NlError, YnlFamily  # noqa: E402

failed = 0


def ok(name):
    print(f"ok {name}", flush=True)


def fail(name, why):
    global failed
    failed += 1
    print(f"not ok {name} # {why}", flush=True)


def skip(name, why):
    print(f"ok {name} # SKIP {why}", flush=True)


def check(name, cond, why=""):
    if cond:
        ok(name)
    else:
        fail(name, why)
    return cond


def check_eq(name, got, want):
    # False == 0 in Python: a "wait_for(...) and n" that timed out must not
    # pass for a count of 0.
    same = got == want and isinstance(got, bool) == isinstance(want, bool)
    return check(name, same, f"got {got!r}, want {want!r}")


def log(msg):
    print(msg, flush=True)


def netdev():
    """A new netdev family socket (each one owns the PDs it creates)."""
    return YnlFamily(SPEC, "")  # "": skip the schema check (slow)


def nl_extack(fn, *args):
    """Run a netlink request expected to fail: (errno, extack dict)."""
    try:
        fn(*args)
    except NlError as e:
        return e.error, dict(e.nl_msg.extack or {})
    return 0, {}


def nl_error(fn, *args):
    """Run a netlink request expected to fail: (errno, extack message)."""
    err, ext = nl_extack(fn, *args)
    return err, ext.get("msg", "")


def check_refused(name, want_errno, want_msg, fn, *args):
    assert want_msg, "an empty extack match matches anything"
    err, msg = nl_error(fn, *args)
    check(name, err == want_errno and want_msg in msg,
          f"got errno {err} extack {msg!r}, want errno {want_errno} "
          f"extack containing {want_msg!r}")


def built_with(symbol):
    """Whether the running kernel has @symbol (/proc/kallsyms): what its
    config built, whatever the interfaces under test say."""
    with open("/proc/kallsyms") as f:
        return any(line.split()[2] == symbol for line in f)


def pd_supported():
    """True if the kernel has the PD commands. False, for a SKIP, only on a
    kernel built without CONFIG_PAGE_POOL_ZC: on one built with it, a
    netdev family without them is a failure, and this exits."""
    built = built_with("netdev_nl_pd_create_doit")
    try:
        netdev().dump("pd-get", {})
    except Exception as e:          # NlError, or a spec the kernel lacks
        if built:
            fail("setup", "kernel built with CONFIG_PAGE_POOL_ZC, but "
                 f"pd-get fails: {e!r}")
            finish()
        return False
    return True


class Memory:
    """Anonymous memory of this process, to be registered as a PD."""

    def __init__(self, pages, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS):
        self.size = pages * mmap.PAGESIZE
        self.map = mmap.mmap(-1, self.size, flags=flags)
        self.addr = ctypes.addressof(ctypes.c_char.from_buffer(self.map))

    def range(self, offset=0, length=None):
        return {"addr": self.addr + offset,
                "len": self.size - offset if length is None else length}


def pd_create(nl, ranges, mode=None, trust=False):
    """A PD of ranges; with trust, copies of its frames may leave for
    targets outside it (trust-guest)."""
    req = {"range": ranges}
    if mode is not None:
        req["mode"] = mode
    if trust:
        req["trust-guest"] = True
    return nl.do("pd-create", req)["id"]


def pd_get(nl, pd_id):
    return nl.do("pd-get", {"id": pd_id})


def pd_ids(nl):
    return [pd["id"] for pd in nl.dump("pd-get", {})]


def proc_kb(path, field):
    """The kB value of field in a /proc file of "Field: N kB" lines."""
    with open(path) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def status_kb(field, pid="self"):
    return proc_kb(f"/proc/{pid}/status", field)


def foll_pins():
    """Pages pinned with FOLL_PIN system-wide (/proc/vmstat): the count
    unpin_user_pages() brings down, unlike VmLck, which the PD's own
    accounting does."""
    v = {}
    # Fold the per-CPU deltas in first: up to a threshold per CPU (tens to
    # a hundred pages) is otherwise not in the totals yet.
    with open("/proc/sys/vm/stat_refresh", "w") as f:
        f.write("1")
    with open("/proc/vmstat") as f:
        for line in f:
            k, n = line.split()
            v[k] = int(n)
    return v["nr_foll_pin_acquired"] - v["nr_foll_pin_released"]


def kernel_complaints():
    """Lines of the kernel log that fail a run: ZC_KERNEL_COMPLAINTS, as
    scripts/lib.sh defines it for the runner."""
    pat = subprocess.run(["bash", "-c", f". {ROOT}/scripts/lib.sh; printf "
                          "%s \"$ZC_KERNEL_COMPLAINTS\""],
                         capture_output=True, text=True, check=True).stdout
    return [x for x in sh("dmesg").splitlines() if re.search(pat, x)]


TRACEFS = "/sys/kernel/tracing"
# What a frame of a bound queue runs through when it is copied, not handed
# over: vhost-net reading the tap, the core's copy of a redirect, and the
# tap's copy of a frame of another PD.
COPY_ROUTINES = ("tun_recvmsg", "page_pool_zc_xdp_copy",
                 "page_pool_zc_copy_frame")


class Probes:
    """Kprobes on funcs and their hit counts (tracefs kprobe_profile): which
    routines frames went through, counted by the kernel's kprobes and not
    by the code under test. The probes only count (tracing_on 0), and stay
    until the VM powers off: one removed while another vCPU runs its
    function can leave a stray int3 under TCG (fault_inject.py)."""

    def __init__(self, funcs=COPY_ROUTINES):
        self.funcs = funcs
        if not os.path.exists(f"{TRACEFS}/kprobe_events"):
            sh(f"mount -t tracefs nodev {TRACEFS}", check_rc=False)
        if not os.path.exists(f"{TRACEFS}/kprobe_events"):
            fail("setup", "no kprobe events in tracefs: the flavour's "
                 "config has CONFIG_KPROBE_EVENTS")
            finish()
        with open(f"{TRACEFS}/tracing_on", "w") as f:
            f.write("0")
        for fn in funcs:
            if fn not in self._profile():
                # O_APPEND, without the seek to the end that Python's "a"
                # mode adds and tracefs refuses.
                fd = os.open(f"{TRACEFS}/kprobe_events",
                             os.O_WRONLY | os.O_APPEND)
                try:
                    os.write(fd, f"p:zc/{fn} {fn}\n".encode())
                finally:
                    os.close(fd)
            with open(f"{TRACEFS}/events/zc/{fn}/enable", "w") as f:
                f.write("1")

    @staticmethod
    def _profile():
        with open(f"{TRACEFS}/kprobe_profile") as f:
            return {x.split()[0].split("/")[-1]: int(x.split()[1])
                    for x in f if x.strip()}

    def hits(self):
        """{function: hits so far}."""
        p = self._profile()
        return {fn: p[fn] for fn in self.funcs}

    def since(self, before):
        """{function: hits since before}, for those with any."""
        now = self.hits()
        return {fn: now[fn] - before[fn] for fn in now
                if now[fn] != before[fn]}


def wait_for(secs, fn):
    """Poll fn() until it returns a true value or secs pass; return it."""
    end = time.time() + secs
    while True:
        v = fn()
        if v or time.time() > end:
            return v
        time.sleep(0.1)


def sh(cmd, check_rc=True):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True)
    if check_rc and r.returncode:
        raise RuntimeError(f"{cmd}: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def virtio_nic():
    for d in sorted(glob.glob("/sys/class/net/*")):
        drv = os.path.realpath(os.path.join(d, "device", "driver"))
        if os.path.basename(drv) == "virtio_net":
            return os.path.basename(d)
    return None


def ifindex(dev):
    with open(f"/sys/class/net/{dev}/ifindex") as f:
        return int(f.read())


def ethtool_sum(dev, regex):
    total = 0
    for line in sh(f"ethtool -S {dev}").splitlines():
        parts = line.split(":")
        if len(parts) == 2 and re.search(regex, parts[0].strip()):
            total += int(parts[1])
    return total


def tg(req):
    """One request to scripts/trafgen.py outside the VM, over virtio-serial."""
    port = None
    for p in glob.glob("/sys/class/virtio-ports/*"):
        try:
            with open(os.path.join(p, "name")) as f:
                if f.read().strip() == "trafgen":
                    port = "/dev/" + os.path.basename(p)
        except OSError:
            pass
    if port is None:
        return {"ok": False, "error": "no trafgen port"}
    fd = os.open(port, os.O_RDWR)
    try:
        os.write(fd, (json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = os.read(fd, 4096)
            if not chunk:
                break
            buf += chunk
    finally:
        os.close(fd)
    return json.loads(buf)


def payload_ok(buf, off):
    """Is there an intact trafgen UDP payload at buf[off:]? Its seq or None."""
    if buf[off:off + 4] != b"ZCTG":
        return None
    seq = int.from_bytes(buf[off + 4:off + 8], "big")
    size = int.from_bytes(buf[off + 8:off + 12], "big")
    n = size - 14 - 20 - 8
    if n < 12 or off + n > len(buf):
        return None
    body = buf[off + 12:off + n]
    want = bytes((seq + i) & 0xFF for i in range(12, n))
    return seq if body == want else None


def scan_payloads(mem):
    """Sequence numbers of the intact trafgen payloads found in mem."""
    data = bytes(mem.map)
    found = {}
    for m in re.finditer(b"ZCTG", data):
        seq = payload_ok(data, m.start())
        if seq is not None:
            found[seq] = m.start()
    return found


def bpftool(args):
    return json.loads(sh(f"bpftool -j {args}") or "null")


def percpu_sum(map_path, key, field):
    v = bpftool(f"map lookup pinned {map_path} key {key} 0 0 0")
    return sum(x["value"][field] for x in v["formatted"]["values"])


def pd_test_nic(name):
    """(NIC, ifindex) of the VM's virtio_net NIC for a PD test; exits with
    a SKIP on a kernel without PD commands, a failure without the NIC."""
    if not pd_supported():
        skip(name, "kernel without CONFIG_PAGE_POOL_ZC")
        sys.exit(0)
    nic = virtio_nic()
    if not nic:
        fail("setup", "no virtio_net NIC")
        finish()
    return nic, ifindex(nic)


def finish():
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    # For the shell tests: "zclib.py copy-hits" prints the hits so far of
    # every copy routine together (Probes).
    if sys.argv[1:] != ["copy-hits"]:
        sys.exit(f"usage: {sys.argv[0]} copy-hits")
    print(sum(Probes().hits().values()))
