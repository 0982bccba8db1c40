/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zc_demux: map layouts shared by zc_demux.bpf.c and the tools that fill
 * its maps (bpftool; the selftests).
 */
#ifndef ZC_DEMUX_H
#define ZC_DEMUX_H

#include <linux/types.h>

/* fdb key: destination MAC and VLAN id (0: untagged), 8 bytes. */
struct zc_demux_key {
	__u8 mac[6];
	__u16 vlan;		/* host byte order */
};

/* stats index, one per-CPU {packets, bytes} each */
enum {
	ZC_DEMUX_UNICAST,	/* redirected to the VM port of the fdb */
	ZC_DEMUX_FLOOD,		/* broadcast/multicast sent to a segment */
	ZC_DEMUX_UNKNOWN,	/* no fdb entry (or no segment): XDP_PASS */
	ZC_DEMUX_NO_PORT,	/* fdb entry but port missing: XDP_PASS */
	ZC_DEMUX_SHORT,		/* shorter than its Ethernet header: XDP_PASS */
	ZC_DEMUX_NR,
};

struct zc_demux_stats {
	__u64 packets;
	__u64 bytes;
};

#endif /* ZC_DEMUX_H */
