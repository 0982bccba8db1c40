// SPDX-License-Identifier: GPL-2.0
/*
 * zc_demux: XDP demux of a NIC's frames to VM ports (taps).
 *
 * Maps (pinned by "bpftool prog load ... pinmaps DIR"):
 *   fdb       hash {dst MAC, VLAN id} -> ifindex of the VM's port
 *   ports     devmap_hash ifindex -> ifindex: the VM ports
 *   segments  hash-of-maps VLAN id -> devmap_hash of the ports that get
 *             the segment's broadcast and multicast frames
 *   stats     per-CPU {packets, bytes} per outcome, see zc_demux.h
 *
 * Unicast to a MAC of the fdb goes to that port through the devmap, so a
 * frame received into the VM's own memory (page_pool_zc) is handed over
 * without a copy. Broadcast and multicast go to every port of the
 * segment (BPF_F_BROADCAST: each gets a copy); add a host-side port
 * (e.g. a veth whose peer the host uses) to a segment for the host to
 * see them. Anything else is left to the host stack (XDP_PASS).
 *
 * On a queue bound to a VM's memory the guest can rewrite the frame at
 * any time: the header is read once into the stack and the decision is
 * taken on that copy only.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "zc_demux.h"

#define ZC_DEMUX_PORTS		256
#define ZC_DEMUX_SEGMENTS	64

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct zc_demux_key);
	__type(value, __u32);
} fdb SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, ZC_DEMUX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
} ports SEC(".maps");

struct zc_demux_segment {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__uint(max_entries, ZC_DEMUX_PORTS);
	__type(key, __u32);
	__type(value, __u32);
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, ZC_DEMUX_SEGMENTS);
	__type(key, __u32);
	__array(values, struct zc_demux_segment);
} segments SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ZC_DEMUX_NR);
	__type(key, __u32);
	__type(value, struct zc_demux_stats);
} stats SEC(".maps");

static __always_inline int count(__u32 key, __u64 bytes, int verdict)
{
	struct zc_demux_stats *st = bpf_map_lookup_elem(&stats, &key);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
	return verdict;
}

/* One read of each header byte; volatile keeps the compiler from reading
 * guest memory again where it would rather not spill.
 */
static __always_inline __u16 load16(const void *p)
{
	return *(const volatile __u16 *)p;
}

static __always_inline __u32 load32(const void *p)
{
	return *(const volatile __u32 *)p;
}

SEC("xdp")
int zc_demux(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 len = data_end - data;
	struct zc_demux_key key = {};
	__u32 seg, mac_hi, *port;
	__u16 proto, mac_lo;
	void *segment;

	if (data + ETH_HLEN > data_end)
		return count(ZC_DEMUX_SHORT, len, XDP_PASS);

	/* dst MAC, then the EtherType and, if tagged, the VLAN id. */
	mac_hi = load32(data);
	mac_lo = load16(data + 4);
	__builtin_memcpy(&key.mac[0], &mac_hi, 4);
	__builtin_memcpy(&key.mac[4], &mac_lo, 2);
	proto = load16(data + 12);
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD)) {
		if (data + ETH_HLEN + 4 > data_end)
			return count(ZC_DEMUX_SHORT, len, XDP_PASS);
		key.vlan = bpf_ntohs(load16(data + ETH_HLEN)) & 0x0fff;
	}

	if (key.mac[0] & 1) {
		seg = key.vlan;
		segment = bpf_map_lookup_elem(&segments, &seg);
		if (!segment)
			return count(ZC_DEMUX_UNKNOWN, len, XDP_PASS);
		count(ZC_DEMUX_FLOOD, len, 0);
		return bpf_redirect_map(segment, 0, BPF_F_BROADCAST);
	}

	port = bpf_map_lookup_elem(&fdb, &key);
	if (!port)
		return count(ZC_DEMUX_UNKNOWN, len, XDP_PASS);
	if (!bpf_map_lookup_elem(&ports, port))
		return count(ZC_DEMUX_NO_PORT, len, XDP_PASS);
	count(ZC_DEMUX_UNICAST, len, 0);
	/* XDP_PASS if the port went away since the lookup. */
	return bpf_redirect_map(&ports, *port, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
