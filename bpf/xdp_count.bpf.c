// SPDX-License-Identifier: GPL-2.0
/*
 * xdp_count: count received frames, and apply a configurable verdict to
 * the test traffic of scripts/trafgen.py (IPv4/UDP frames whose payload
 * starts with "ZCTG"). Everything else passes.
 *
 *   counters[0]  every frame            (per-CPU packets, bytes)
 *   counters[1]  trafgen frames
 *   config[0]    .action: the verdict for trafgen frames: XDP_DROP (1),
 *                XDP_TX (3), XDP_REDIRECT (4) to .ifindex, or
 *                XDP_COUNT_TO_CPU (5): redirect to entry .ifindex (a CPU)
 *                of the cpumap "cpus"; any other value passes them
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_vlan.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_count.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, XDP_COUNT_NR);
	__type(key, __u32);
	__type(value, struct xdp_count_stats);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct xdp_count_config);
} config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__uint(max_entries, 8);
	__type(key, __u32);
	__type(value, struct bpf_cpumap_val);
} cpus SEC(".maps");

static __always_inline void count(__u32 key, __u64 bytes)
{
	struct xdp_count_stats *st = bpf_map_lookup_elem(&counters, &key);

	if (st) {
		st->packets++;
		st->bytes += bytes;
	}
}

static __always_inline int is_trafgen(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *iph;
	struct udphdr *udp;
	__u8 *magic;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return 0;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl != 5 ||
	    iph->protocol != IPPROTO_UDP)
		return 0;
	udp = (void *)(iph + 1);
	magic = (void *)(udp + 1);
	if ((void *)(magic + 4) > data_end)
		return 0;
	return magic[0] == 'Z' && magic[1] == 'C' && magic[2] == 'T' &&
	       magic[3] == 'G';
}

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	__u64 len = data_end - data;
	struct xdp_count_config *cfg;
	__u32 zero = 0;

	count(XDP_COUNT_ALL, len);
	if (!is_trafgen(data, data_end))
		return XDP_PASS;
	count(XDP_COUNT_TRAFGEN, len);

	cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg)
		return XDP_PASS;
	switch (cfg->action) {
	case XDP_DROP:
	case XDP_TX:
		return cfg->action;
	case XDP_REDIRECT:
		return bpf_redirect(cfg->ifindex, 0);
	case XDP_COUNT_TO_CPU:
		return bpf_redirect_map(&cpus, cfg->ifindex, 0);
	default:
		return XDP_PASS;
	}
}

char _license[] SEC("license") = "GPL";
