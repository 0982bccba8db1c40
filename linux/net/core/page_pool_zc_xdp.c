// SPDX-License-Identifier: GPL-2.0-only
/*
 * page_pool_zc: what may leave a bound queue, and the copies that do.
 *
 * A frame of a queue bound to a PD sits in the guest's memory while XDP
 * decides on it and until it is copied: the guest can rewrite it in
 * between, so a copy carries whatever the guest wrote. Sent anywhere but
 * the guest's own ports, it would look like traffic from the wire that
 * the filters on the guest's tap never saw. Unless the PD trusts its
 * guest (trust-guest), such frames are dropped and counted by reason.
 */

#include <linux/mm.h>
#include <linux/skbuff.h>
#include <net/page_pool/zc.h>
#include <net/xdp.h>

#include "page_pool_zc.h"

/**
 * page_pool_zc_may_leave() - may a copy of a PD frame leave for elsewhere?
 * @netmem: the PD buffer holding the frame
 * @stat: the drop counter for this target, counted when the answer is no
 *
 * For a target that is not a port of the frame's own PD: the host stack,
 * the wire, another device or PD.
 *
 * Return: true if the PD trusts its guest; false if the frame must be
 * dropped (and was counted in @stat).
 */
bool page_pool_zc_may_leave(netmem_ref netmem, enum page_pool_zc_stat stat)
{
	struct page_pool_zc_pd *pd = pp_zc_niov_pd(netmem_to_net_iov(netmem));

	if (pd->trust_guest)
		return true;
	this_cpu_inc(pd->stats->v[stat]);
	return false;
}
EXPORT_SYMBOL_GPL(page_pool_zc_may_leave);

/**
 * page_pool_zc_xdp_copy() - copy a PD frame into an xdp_frame
 * @xdp: the frame, a &struct page_pool_zc_xdp_buff
 *
 * The copy keeps up to %XDP_PACKET_HEADROOM of headroom, and room for a
 * &struct skb_shared_info, so that any driver can transmit it (virtio_net
 * puts its header in front) and cpumap can build an skb around it. The
 * buffer stays the caller's; the copy is counted in rx-copy. The caller
 * has decided that the copy may go where it goes.
 *
 * Return: an xdp_frame in a kernel page, or NULL.
 */
struct xdp_frame *page_pool_zc_xdp_copy(struct xdp_buff *xdp)
{
	unsigned int metasize, len, room, headroom;
	struct xdp_frame *xdpf;
	struct page *page;
	void *addr;

	metasize = xdp_data_meta_unsupported(xdp) ? 0 :
		   xdp->data - xdp->data_meta;
	len = xdp->data_end - xdp->data;
	if (sizeof(*xdpf) + metasize + len > SKB_WITH_OVERHEAD(PAGE_SIZE))
		return NULL;

	room = SKB_WITH_OVERHEAD(PAGE_SIZE) - sizeof(*xdpf) - len;
	headroom = max(min_t(unsigned int, room, XDP_PACKET_HEADROOM), metasize);

	page = dev_alloc_page();
	if (!page)
		return NULL;

	addr = page_to_virt(page);
	xdpf = addr;
	memset(xdpf, 0, sizeof(*xdpf));
	addr += sizeof(*xdpf) + headroom;
	memcpy(addr - metasize, xdp->data - metasize, metasize + len);

	xdpf->data = addr;
	xdpf->len = len;
	xdpf->headroom = headroom;
	xdpf->metasize = metasize;
	xdpf->frame_sz = PAGE_SIZE;
	xdpf->mem.type = MEM_TYPE_PAGE_ORDER0;

	page_pool_zc_count_copy(page_pool_zc_xdp_buff(xdp)->netmem);
	return xdpf;
}
EXPORT_SYMBOL_GPL(page_pool_zc_xdp_copy);

/**
 * page_pool_zc_xdp_tx_frame() - the copy of a PD frame for XDP_TX
 * @xdp: the frame, a &struct page_pool_zc_xdp_buff
 *
 * What xdp_convert_buff_to_frame() does for %MEM_TYPE_PAGE_POOL_ZC: only a
 * driver's XDP_TX converts a bound queue's buffer that way (redirects go
 * through xdp_do_redirect(), which decides per target). The wire is not a
 * port of the PD: refused, and counted in drop-tx, unless the PD trusts
 * its guest.
 *
 * Return: an xdp_frame in a kernel page, or NULL.
 */
struct xdp_frame *page_pool_zc_xdp_tx_frame(struct xdp_buff *xdp)
{
	netmem_ref netmem = page_pool_zc_xdp_buff(xdp)->netmem;

	if (!page_pool_zc_may_leave(netmem, PP_ZC_STAT_DROP_TX))
		return NULL;
	return page_pool_zc_xdp_copy(xdp);
}
EXPORT_SYMBOL_GPL(page_pool_zc_xdp_tx_frame);

/* What page_pool_zc_xdp_copy() needs to know of the source. */
static struct xdp_rxq_info pp_zc_copy_rxq = {
	.mem.type	= MEM_TYPE_PAGE_POOL_ZC,
};

/**
 * page_pool_zc_copy_frame() - copy a raw PD frame into kernel memory
 * @frame: the frame, a PD buffer with a page_pool reference
 * @stat: the drop counter, if the copy may not be made
 *
 * For an ndo_tx_raw implementation that received a frame it must not
 * keep: another PD's page (@stat %PP_ZC_STAT_MISDIRECTED), or a frame
 * for a device no longer attached to any PD (%PP_ZC_STAT_DROP_REDIRECT).
 * Refused, and counted in @stat, unless the frame's PD trusts its guest.
 * The copy is counted in rx-copy; @frame keeps its reference, for
 * page_pool_zc_raw_frame_free().
 *
 * Return: an xdp_frame in a kernel page, or NULL.
 */
struct xdp_frame *
page_pool_zc_copy_frame(const struct netdev_tx_raw_frame *frame,
			enum page_pool_zc_stat stat)
{
	struct page_pool_zc_xdp_buff zxdp;

	if (WARN_ON_ONCE(frame->offset > PAGE_SIZE ||
			 frame->len > PAGE_SIZE - frame->offset))
		return NULL;
	if (!page_pool_zc_may_leave(frame->netmem, stat))
		return NULL;

	xdp_init_buff(&zxdp.xdp, PAGE_SIZE, &pp_zc_copy_rxq);
	xdp_prepare_buff(&zxdp.xdp, page_pool_zc_netmem_address(frame->netmem),
			 frame->offset, frame->len, false);
	zxdp.netmem = frame->netmem;
	return page_pool_zc_xdp_copy(&zxdp.xdp);
}
EXPORT_SYMBOL_GPL(page_pool_zc_copy_frame);
