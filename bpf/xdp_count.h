/* SPDX-License-Identifier: GPL-2.0 */
#ifndef XDP_COUNT_H
#define XDP_COUNT_H

#include <linux/types.h>

enum {
	XDP_COUNT_ALL,		/* every frame */
	XDP_COUNT_TRAFGEN,	/* frames of scripts/trafgen.py */
	XDP_COUNT_NR,
};

struct xdp_count_stats {
	__u64 packets;
	__u64 bytes;
};

#define XDP_COUNT_TO_CPU	5	/* config action: redirect to the cpumap */

struct xdp_count_config {
	__u32 action;		/* verdict for trafgen frames, see xdp_count.bpf.c */
	__u32 ifindex;		/* XDP_REDIRECT target */
};

#endif /* XDP_COUNT_H */
