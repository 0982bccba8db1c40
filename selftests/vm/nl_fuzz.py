#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""A bounded fuzzer of the protection-domain netlink commands.

Several processes, each on its own generic netlink socket, send random
requests to pd-create, pd-get (do and dump), pd-bind, pd-unbind, pd-attach
and pd-detach: well-formed ones with good and bad values (PDs of other
sockets, gone and huge ids, the NIC, a tap, a missing device, queues that
do not exist, unaligned, empty, huge, overlapping and unmapped ranges, too
many ranges), random attributes, wrong sizes and types, missing and
duplicate attributes, unknown flags and truncated messages. Meanwhile the
processes bind and unbind the NIC's queues and close their sockets (which
destroys their PDs) under each other's feet.

Every request with a well-formed header must get exactly one answer:
success, or an error the caller can understand (an extack message, the
offending attribute or the missing one). Afterwards no PD is left, the
NIC's queues receive again and the kernel log is clean (selftests/run.sh).

  nl_fuzz.py [--messages N] [--procs N] [--seed N]
"""

import argparse
import json
import mmap
import os
import random
import socket
import struct
import time

from demuxlib import open_tap, rx_both_queues
from zclib import (Memory, check, check_eq, finish, ifindex, log, netdev,
                   pd_create, pd_ids, pd_test_nic, sh, wait_for)

NLM_F_REQUEST, NLM_F_ACK, NLM_F_DUMP = 0x1, 0x4, 0x300
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, NLMSGERR_ATTR_MISS_TYPE = 1, 2, 5
NLA_F_NESTED = 1 << 15
SOL_NETLINK, NETLINK_CAP_ACK, NETLINK_EXT_ACK = 270, 10, 11
NETLINK_GET_STRICT_CHK = 12
MAX_RANGES = 64                      # PP_ZC_MAX_RANGES

ap = argparse.ArgumentParser()
ap.add_argument("--messages", type=int, default=int(
    os.environ.get("ZC_FUZZ_MESSAGES", 6000)))
ap.add_argument("--procs", type=int, default=4)
ap.add_argument("--seed", type=int, default=int(time.time()))
args = ap.parse_args()

nic, idx = pd_test_nic("nl_fuzz")
spec = netdev()
FAMILY = spec.nlproto.family_id
CMD = {op: spec.ops[op].req_value for op in
       ("pd-create", "pd-get", "pd-bind", "pd-unbind", "pd-attach",
        "pd-detach")}
A = {name: a.value for name, a in spec.attr_sets["pd"].attrs.items()}
R = {name: a.value for name, a in spec.attr_sets["pd-range"].attrs.items()}


def nla(t, payload):
    n = 4 + len(payload)
    return struct.pack("HH", n, t) + payload + bytes(-n % 4)


def u32(t, v):
    return nla(t, struct.pack("I", v & 0xFFFFFFFF))


def u64(t, v):
    return nla(t, struct.pack("Q", v & (2**64 - 1)))


def nest(t, *attrs):
    return nla(t | NLA_F_NESTED, b"".join(attrs))


def tlvs(buf):
    """(type, payload) of each attribute in buf, until one is malformed."""
    off = 0
    while off + 4 <= len(buf):
        n, t = struct.unpack_from("HH", buf, off)
        if n < 4 or off + n > len(buf):
            return
        yield t & ~NLA_F_NESTED, buf[off + 4:off + n]
        off += (n + 3) & ~3


class Fuzzer:
    """One process's socket, random source and tallies."""

    def __init__(self, seed, targets):
        self.rnd = random.Random(seed)
        self.t = targets
        self.seq = 0
        self.own = []                # PDs this socket created
        self.mem = Memory(16)
        self.stats = {"sent": 0, "ok": 0, "errors": {}, "no-reply": 0,
                      "lost-answers": 0, "extra-answers": 0,
                      "unexplained": [], "reopened": 0}
        self.lossy = set()           # requests whose answer ENOBUFS lost
        self.open()

    def open(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK):
            self.sock.setsockopt(SOL_NETLINK, opt, 1)
        self.sock.settimeout(10)
        self.own = []

    # --- values, good and bad ----------------------------------------------
    def pd_id(self):
        r = self.rnd
        return r.choice([r.choice(self.own) if self.own else 1,
                         r.choice(self.t["pds"]), 0, 0x7FFFFFFF, 0xFFFFFFFF,
                         r.randrange(1 << 32), r.randrange(1, 64)])

    def dev(self):
        r = self.rnd
        return r.choice([self.t["nic"], self.t["nic"], self.t["tap"], 1, 0,
                         99999, 0xFFFFFFFF, r.randrange(1 << 32)])

    def queue(self):
        r = self.rnd
        return r.choice([0, 1, 0, 1, 2, 64, 0xFFFF, 0xFFFFFFFF,
                         r.randrange(1 << 32)])

    def rng(self):
        r, m, p = self.rnd, self.mem, mmap.PAGESIZE
        addr, length = r.choice([
            (m.addr, m.size), (m.addr, p), (m.addr + p * r.randrange(16), p),
            (m.addr + 1, p), (m.addr, 0), (m.addr, p + 1), (m.addr, 1 << 63),
            (m.addr, 2**64 - p), (0, p), (p, p), (0xFFFF888000000000, p),
            (0x7FFFFFFFF000, 2 * p), (m.addr + m.size, p),
            (r.randrange(1 << 64) & ~(p - 1), p * r.randrange(1, 9)),
            (r.randrange(1 << 64), r.randrange(1 << 64))])
        parts = [u64(R["addr"], addr), u64(R["len"], length)]
        if r.random() < 0.1:
            parts.pop(r.randrange(2))
        if r.random() < 0.05:
            parts.append(u32(r.randrange(8), r.randrange(1 << 32)))
        return nest(A["range"], *parts)

    def junk_attr(self):
        r = self.rnd
        t = r.randrange(24)
        if r.random() < 0.2:
            t |= r.choice([NLA_F_NESTED, 1 << 14])
        return nla(t, r.randbytes(r.choice([0, 1, 2, 3, 4, 5, 8, 12, 16,
                                            r.randrange(64)])))

    # --- requests ------------------------------------------------------------
    def attrs_for(self, op):
        r = self.rnd
        if op == "pd-create":
            n = r.choice([0, 1, 1, 1, 2, 3, MAX_RANGES, MAX_RANGES + 1])
            a = [self.rng() for _ in range(n)]
            if r.random() < 0.5:
                a.append(u32(A["mode"], r.choice([0, 1, 1, 2, 0xFFFFFFFF])))
            return a
        if op == "pd-get":
            return [u32(A["id"], self.pd_id())] if r.random() < 0.8 else []
        a = [u32(A["id"], self.pd_id()), u32(A["ifindex"], self.dev())]
        if op in ("pd-bind", "pd-unbind"):
            a.append(u32(A["queue-id"], self.queue()))
        return a

    def mutate(self, a):
        """Break a list of attributes one way or another, or not at all."""
        r = self.rnd
        how = r.randrange(8)
        if how == 1 and a:                      # missing attribute
            a.pop(r.randrange(len(a)))
        elif how == 2 and a:                    # duplicate attribute
            a.append(r.choice(a))
        elif how == 3:                          # random attributes
            a += [self.junk_attr() for _ in range(r.randrange(1, 4))]
        elif how == 4 and a:                    # wrong size for its type
            i = r.randrange(len(a))
            t = struct.unpack_from("H", a[i], 2)[0]
            a[i] = nla(t, r.randbytes(r.choice([0, 1, 2, 3, 6, 8, 16])))
        elif how == 5 and a:                    # nested where scalar, and back
            i = r.randrange(len(a))
            t = struct.unpack_from("H", a[i], 2)[0] ^ NLA_F_NESTED
            a[i] = nla(t, a[i][4:])
        elif how == 6:                          # read-only attributes
            a.append(u32(r.randrange(A["pages"], max(A.values()) + 2),
                         r.randrange(1 << 32)))
        return a

    def message(self):
        r = self.rnd
        op = r.choice(list(CMD))
        flags = NLM_F_REQUEST | NLM_F_ACK
        if op == "pd-get" and r.random() < 0.4:
            flags |= NLM_F_DUMP
        if r.random() < 0.03:
            flags |= r.choice([0x8, 0x10, 0x20, 0x1000, NLM_F_DUMP])
        cmd = CMD[op] if r.random() > 0.02 else r.randrange(256)
        # Another command, or a dump of a command without one: the
        # genetlink core's answer (EOPNOTSUPP without extack in 6.12).
        self.core_refusal = cmd not in CMD.values() or (
            flags & NLM_F_DUMP == NLM_F_DUMP and cmd != CMD["pd-get"])
        body = b"".join(self.mutate(self.attrs_for(op)))
        self.seq += 1
        genl = struct.pack("BBH", cmd, r.choice([1, 1, 1, 0, 2]), 0)
        hdr_len = 16 + len(genl) + len(body)
        msg = struct.pack("IHHII", hdr_len, FAMILY, flags, self.seq, 0) + \
            genl + body
        framed = True
        if r.random() < 0.02:                   # truncated
            msg = msg[:r.randrange(len(msg))]
            framed = False
        elif r.random() < 0.02 and body:        # an attribute overrunning
            k = 20
            msg = msg[:k] + struct.pack("H", 0xFFF0) + msg[k + 2:]
        return op, msg, framed

    def answer(self):
        """Read up to the end of the current request's answer: errno (0 is
        success), whether it explains itself; None if nothing came. The end
        of an answer to an earlier request counts in extra-answers."""
        while True:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                return None, False
            except OSError as e:        # ENOBUFS: the answer was lost
                self.lossy.add(self.seq)
                return -e.errno, True
            off, end = 0, None
            while off + 16 <= len(data):
                n, typ, flags, seq, _ = struct.unpack_from("IHHII", data, off)
                if seq == self.seq and typ == FAMILY:
                    self.last_id = self.reply_id(data[off + 20:off + n])
                if typ in (NLMSG_ERROR, NLMSG_DONE):
                    if seq == self.seq and end is None:
                        err = -struct.unpack_from("i", data, off + 16)[0] \
                            if n >= 20 else 0
                        tlv = off + 20 + (16 if typ == NLMSG_ERROR else 0)
                        end = err, self.explained(data[tlv:off + n], flags)
                    elif seq not in self.lossy:
                        self.stats["extra-answers"] += 1
                off += (n + 3) & ~3 if n else len(data)
            if end:
                return end

    @staticmethod
    def reply_id(attrs):
        return next((struct.unpack_from("I", v)[0] for t, v in tlvs(attrs)
                     if t == A["id"] and len(v) >= 4), None)

    @staticmethod
    def explained(buf, flags):
        return bool(flags & NLM_F_ACK_TLVS) and any(
            t in (NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
                  NLMSGERR_ATTR_MISS_TYPE) for t, _ in tlvs(buf))

    def one(self):
        op, msg, framed = self.message()
        self.stats["sent"] += 1
        try:
            self.sock.send(msg)
        except OSError as e:            # e.g. ENODATA for an empty one
            k = f"send {e.errno}"
            self.stats["errors"][k] = self.stats["errors"].get(k, 0) + 1
            return
        if not framed:
            # The netlink core drops a message shorter than its header
            # says; make sure the socket still works.
            self.sock.settimeout(0.05)
            try:
                self.sock.recv(65536)
            except socket.timeout:
                pass
            self.sock.settimeout(10)
            return
        self.last_id = None
        err, why = self.answer()
        if err is None:
            self.stats["no-reply"] += 1
        elif err < 0:
            self.stats["lost-answers"] += 1
        elif err == 0:
            self.stats["ok"] += 1
            if op == "pd-create" and self.last_id:
                self.own.append(self.last_id)
        else:
            e = self.stats["errors"]
            e[str(err)] = e.get(str(err), 0) + 1
            if not why and not self.core_refusal and \
                    len(self.stats["unexplained"]) < 20:
                self.stats["unexplained"].append((op, err, msg.hex()))

    def run(self, n):
        for i in range(n):
            self.one()
            if self.rnd.random() < 0.01:        # the VMM goes away
                self.sock.close()
                self.stats["reopened"] += 1
                self.open()
        return self.stats


log(f"seed {args.seed}, {args.messages} messages from {args.procs} "
    "processes")
sh(f"ip link set {nic} up")
tap_fd = open_tap("zfuzz0")
owner = netdev()
pages = Memory(8)
targets = {"nic": idx, "tap": ifindex("zfuzz0"),
           "pds": [pd_create(owner, [pages.range(0, 4 * mmap.PAGESIZE)],
                             mode="page"),
                   pd_create(owner, [pages.range(4 * mmap.PAGESIZE)])]}
start = time.time()
kids = []
for i in range(args.procs):
    out = f"/tmp/nl_fuzz.{os.getpid()}.{i}.json"
    pid = os.fork()
    if pid == 0:
        try:
            res = Fuzzer(args.seed + i, targets).run(
                args.messages // args.procs)
        except Exception as e:          # reported, not raised in the child
            res = {"crash": repr(e)}
        with open(out, "w") as f:
            json.dump(res, f)
        os._exit(0)
    kids.append((pid, out))

# The parent dumps all along, as a monitoring tool would.
dumps, running = 0, {pid for pid, _ in kids}
while running:
    owner.dump("pd-get", {})
    dumps += 1
    running = {p for p in running if os.waitpid(p, os.WNOHANG) == (0, 0)}
results = []
for pid, out in kids:
    try:
        with open(out) as f:
            results.append(json.load(f))
        os.unlink(out)
    except (OSError, ValueError) as e:
        results.append({"crash": f"no result: {e}"})
elapsed = time.time() - start

crashes = [x["crash"] for x in results if "crash" in x]
check_eq("every fuzzing process ran to the end", crashes, [])
sent = sum(x.get("sent", 0) for x in results)
okd = sum(x.get("ok", 0) for x in results)
errs = {}
for x in results:
    for k, v in x.get("errors", {}).items():
        errs[k] = errs.get(k, 0) + v
unexplained = [u for x in results for u in x.get("unexplained", [])]
noreply = sum(x.get("no-reply", 0) for x in results)
log(f"{sent} requests in {elapsed:.0f} s ({dumps} dumps beside): {okd} "
    f"succeeded, errors by errno {dict(sorted(errs.items()))}, "
    f"{sum(x.get('reopened', 0) for x in results)} sockets closed")
print(f"@@fig bad_inputs {sent}", flush=True)
check("thousands of requests", sent >= min(args.messages, 1000), str(sent))
check_eq("every well-formed request answered", noreply, 0)
check_eq("none answered twice",
         sum(x.get("extra-answers", 0) for x in results), 0)
log(f"answers lost to a full socket buffer: "
    f"{sum(x.get('lost-answers', 0) for x in results)}")
check("some succeeded, some were refused", okd and errs,
      f"{okd} ok, {errs}")
for op, err, hexmsg in unexplained[:5]:
    log(f"unexplained: {op} errno {err}: {hexmsg}")
check_eq("every error explained (extack message, attribute or missing "
         "attribute)", len(unexplained), 0)

owner.do("pd-get", {"id": targets["pds"][0]})
owner.sock.close()
os.close(tap_fd)
check("no PD left once the sockets are closed",
      wait_for(10, lambda: not pd_ids(netdev())), str(pd_ids(netdev())))
got = rx_both_queues(nic)
check("both RX queues receive again", all(got) and sum(got) == 160,
      str(got))
finish()
