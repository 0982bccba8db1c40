/* SPDX-License-Identifier: GPL-2.0 */
/*
 * page_pool_zc: zero-copy receive into VM guest memory.
 *
 * Interface between the page_pool_zc memory provider and its users
 * (drivers, the XDP core, tun and vhost-net).
 */
#ifndef _NET_PAGE_POOL_ZC_H
#define _NET_PAGE_POOL_ZC_H

#include <linux/types.h>
#include <net/netmem.h>
#include <net/xdp.h>

/**
 * DOC: page_pool_zc
 *
 * A page_pool memory provider that fills one RX queue with pages of one
 * VM's guest memory, a protection domain (PD). See
 * Documentation/networking/page_pool_zc.rst.
 *
 * A driver supports the provider on a queue by creating the queue's
 * page_pool with the queue's index (the page_pool core then picks the
 * provider up) and by handling the frames as follows:
 *
 *  - page_pool_is_zc() tells whether a page_pool's buffers are PD pages;
 *  - page_pool_zc_netmem_address() gives the kernel address of such a
 *    buffer, for the XDP program and for copies; the guest can rewrite the
 *    bytes at any time, so nothing read there may be trusted twice;
 *  - the xdp_buff is a &struct page_pool_zc_xdp_buff, registered with
 *    memory type %MEM_TYPE_PAGE_POOL_ZC. A redirect to a devmap port
 *    attached to the frame's own PD gets {netmem, offset, length} through
 *    ndo_tx_raw with a page_pool reference of its own (or a copy, where
 *    the port cannot take the page). Any other target (XDP_TX, another
 *    device or PD, cpumap, xskmap, broadcast) gets a copy made by the XDP
 *    core only if the PD trusts its guest, else the frame is dropped and
 *    counted; the driver's reference stays the driver's whatever the
 *    verdict and whether or not the redirect succeeded, and the driver
 *    returns it to its page_pool;
 *  - XDP_PASS, or no XDP program: the driver asks page_pool_zc_may_leave()
 *    (%PP_ZC_STAT_DROP_PASS) before it copies the frame into an skb;
 *  - page_pool_zc_count_rx() and page_pool_zc_count_copy() keep the PD's
 *    frame counters.
 *
 * A device implementing ndo_tx_raw (tun/tap) keeps frames whose page is
 * in the PD it is attached to (page_pool_zc_netmem_in_pd() against its
 * &net_device.tx_raw_pd), copies others with page_pool_zc_copy_frame()
 * (which refuses unless their PD trusts its guest), and releases each
 * frame it took with page_pool_zc_raw_frame_free().
 */

/**
 * define PAGE_POOL_ZC_DATA_OFFSET - where a received frame starts in a PD page
 *
 * The layout every user of a PD page agrees on. Drivers have the NIC write
 * each frame at this offset of its page (a device that prepends a header,
 * such as virtio-net, writes it right before: PAGE_POOL_ZC_HDR_LEN at
 * most). A guest that wants its frames received in place posts RX buffers
 * of the same shape: the rest of one page from PAGE_POOL_ZC_DATA_OFFSET
 * minus PAGE_POOL_ZC_HDR_LEN, its virtio-net header. 96 bytes hold a
 * frame of up to 4000 bytes in a 4 KiB page and leave an XDP program room
 * to push a header (after the 40 bytes the XDP core keeps for struct
 * xdp_frame).
 */
#define PAGE_POOL_ZC_DATA_OFFSET	96

/**
 * define PAGE_POOL_ZC_HDR_LEN - room for a header before the frame
 *
 * The most a device may write in front of PAGE_POOL_ZC_DATA_OFFSET, and
 * where the page layout's buffers start before it: the 12 bytes of a
 * virtio-net header with mergeable buffers or VIRTIO_F_VERSION_1. A longer
 * device header (hash report) or a shorter guest one (legacy) would have
 * the NIC write guest memory outside the buffer the guest posted, and
 * outside the dirty log.
 */
#define PAGE_POOL_ZC_HDR_LEN		12

/**
 * struct page_pool_zc_xdp_buff - xdp_buff over one page of a PD
 * @xdp: the buffer the XDP program sees; must stay the first member
 * @netmem: the net_iov the frame was received into
 *
 * Frames of a queue bound to a PD never carry kernel state in guest
 * memory: this wrapper, on the driver's stack, is where the XDP core
 * finds the buffer whose copies it counts.
 */
struct page_pool_zc_xdp_buff {
	struct xdp_buff xdp;
	netmem_ref netmem;
};

static inline struct page_pool_zc_xdp_buff *
page_pool_zc_xdp_buff(struct xdp_buff *xdp)
{
	return container_of(xdp, struct page_pool_zc_xdp_buff, xdp);
}

/**
 * enum page_pool_zc_stat - per-PD frame counters
 * @PP_ZC_STAT_RX_ZC: frame received into a PD page
 * @PP_ZC_STAT_RX_COPY: frame copied out of a PD page into kernel memory
 * @PP_ZC_STAT_STARVED: page allocation refused, nothing posted
 * @PP_ZC_STAT_REDIRECT_ZC: frame handed to a port of its PD, no copy
 * @PP_ZC_STAT_REDIRECT_COPY: redirected frame copied
 * @PP_ZC_STAT_MISDIRECTED: redirect target was a port of another PD
 * @PP_ZC_STAT_PORT_COPY: zero-copy frame copied out by the port's reader
 * @PP_ZC_STAT_GUEST_ZC: frame completed in the guest buffer it was written to
 * @PP_ZC_STAT_POST_REFUSED: guest buffer of the page layout not posted
 * @PP_ZC_STAT_DROP_PASS: dropped, not passed to the host stack
 * @PP_ZC_STAT_DROP_TX: dropped, not sent back out (XDP_TX)
 * @PP_ZC_STAT_DROP_REDIRECT: dropped, not redirected outside the PD
 * @PP_ZC_STAT_RECLAIM_RETRY: a queue restart that had failed tried again
 * @PP_ZC_STAT_DROP_PORT: dropped, a port of the PD did not take it
 * @PP_ZC_STAT_DISCARDED: page dropped from the owner's mapping
 * @PP_ZC_STAT_MAX: number of counters
 *
 * DROP_PASS, DROP_TX, DROP_REDIRECT and MISDIRECTED count frames that would
 * have left for a target outside their PD, which only a PD that trusts its
 * guest allows; DROP_PORT, frames a port of their own PD did not take.
 */
enum page_pool_zc_stat {
	PP_ZC_STAT_RX_ZC,
	PP_ZC_STAT_RX_COPY,
	PP_ZC_STAT_STARVED,
	PP_ZC_STAT_REDIRECT_ZC,
	PP_ZC_STAT_REDIRECT_COPY,
	PP_ZC_STAT_MISDIRECTED,
	PP_ZC_STAT_PORT_COPY,
	PP_ZC_STAT_GUEST_ZC,
	PP_ZC_STAT_POST_REFUSED,
	PP_ZC_STAT_DROP_PASS,
	PP_ZC_STAT_DROP_TX,
	PP_ZC_STAT_DROP_REDIRECT,
	PP_ZC_STAT_RECLAIM_RETRY,
	PP_ZC_STAT_DROP_PORT,
	PP_ZC_STAT_DISCARDED,
	PP_ZC_STAT_MAX
};

struct mm_struct;
struct net_device;
struct netdev_nl_sock;
struct netdev_tx_raw_frame;
struct page_pool;
struct page_pool_zc_pd;

#if IS_ENABLED(CONFIG_PAGE_POOL_ZC)
bool page_pool_is_zc(const struct page_pool *pool);
void *page_pool_zc_netmem_address(netmem_ref netmem);
void page_pool_zc_count(netmem_ref netmem, enum page_pool_zc_stat stat);
bool page_pool_zc_netmem_in_pd(netmem_ref netmem,
			       const struct page_pool_zc_pd *pd);
bool page_pool_zc_may_leave(netmem_ref netmem, enum page_pool_zc_stat stat);
struct xdp_frame *page_pool_zc_xdp_copy(struct xdp_buff *xdp);
struct xdp_frame *page_pool_zc_xdp_tx_frame(struct xdp_buff *xdp);
struct xdp_frame *
page_pool_zc_copy_frame(const struct netdev_tx_raw_frame *frame,
			enum page_pool_zc_stat stat);
void page_pool_zc_raw_frame_free(const struct netdev_tx_raw_frame *frame);

struct page_pool_zc_pd *page_pool_zc_pd_get(struct net *net, u32 id);
void page_pool_zc_pd_put(struct page_pool_zc_pd *pd);
int page_pool_zc_post_page(struct page_pool_zc_pd *pd, unsigned long index);
bool page_pool_zc_pd_page_mode(const struct page_pool_zc_pd *pd);
int page_pool_zc_unpost_page(struct page_pool_zc_pd *pd, unsigned long index);
int page_pool_zc_pd_index(const struct page_pool_zc_pd *pd,
			  const struct mm_struct *mm, unsigned long uaddr,
			  unsigned long *index);
bool page_pool_zc_take_page(const struct netdev_tx_raw_frame *frame);
bool page_pool_zc_page_discarded(const struct page_pool_zc_pd *pd,
				 unsigned long index);
int page_pool_zc_repin_page(struct page_pool_zc_pd *pd, unsigned long index);
int page_pool_zc_pd_reclaim(struct page_pool_zc_pd *pd);
bool page_pool_zc_pd_reclaim_pending(struct page_pool_zc_pd *pd);
void page_pool_zc_pd_count(struct page_pool_zc_pd *pd,
			   enum page_pool_zc_stat stat);
unsigned long page_pool_zc_netmem_index(netmem_ref netmem);
struct page_pool_zc_pd *page_pool_zc_dev_pd_get(const struct net_device *dev);

void page_pool_zc_nl_sock_destroy(struct netdev_nl_sock *priv);
#else
static inline bool page_pool_is_zc(const struct page_pool *pool)
{
	return false;
}

static inline void *page_pool_zc_netmem_address(netmem_ref netmem)
{
	return NULL;
}

static inline void page_pool_zc_count(netmem_ref netmem,
				      enum page_pool_zc_stat stat)
{
}

static inline bool page_pool_zc_netmem_in_pd(netmem_ref netmem,
					     const struct page_pool_zc_pd *pd)
{
	return false;
}

static inline bool page_pool_zc_may_leave(netmem_ref netmem,
					  enum page_pool_zc_stat stat)
{
	return false;
}

static inline struct xdp_frame *page_pool_zc_xdp_copy(struct xdp_buff *xdp)
{
	return NULL;
}

static inline struct xdp_frame *
page_pool_zc_xdp_tx_frame(struct xdp_buff *xdp)
{
	return NULL;
}

static inline struct xdp_frame *
page_pool_zc_copy_frame(const struct netdev_tx_raw_frame *frame,
			enum page_pool_zc_stat stat)
{
	return NULL;
}

static inline void
page_pool_zc_raw_frame_free(const struct netdev_tx_raw_frame *frame)
{
}

static inline struct page_pool_zc_pd *
page_pool_zc_dev_pd_get(const struct net_device *dev)
{
	return NULL;
}

static inline void page_pool_zc_pd_put(struct page_pool_zc_pd *pd)
{
}

static inline void page_pool_zc_nl_sock_destroy(struct netdev_nl_sock *priv)
{
}
#endif

/**
 * page_pool_zc_count_rx() - count a frame received into a PD page
 * @netmem: the buffer the NIC wrote the frame into
 */
static inline void page_pool_zc_count_rx(netmem_ref netmem)
{
	page_pool_zc_count(netmem, PP_ZC_STAT_RX_ZC);
}

/**
 * page_pool_zc_count_copy() - count a frame copied out of a PD page
 * @netmem: the buffer the frame was copied from
 */
static inline void page_pool_zc_count_copy(netmem_ref netmem)
{
	page_pool_zc_count(netmem, PP_ZC_STAT_RX_COPY);
}

#endif /* _NET_PAGE_POOL_ZC_H */
