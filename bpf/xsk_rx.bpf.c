// SPDX-License-Identifier: GPL-2.0
/*
 * xsk_rx: every frame of an RX queue to the AF_XDP socket bound to it
 * (entry rx_queue_index of "xsks"); queues without a socket pass. Used by
 * bench/datapath.py for the AF_XDP zero-copy column.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks SEC(".maps");

SEC("xdp")
int xsk_rx(struct xdp_md *ctx)
{
	return bpf_redirect_map(&xsks, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
