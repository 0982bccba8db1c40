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
 *    memory type %MEM_TYPE_PAGE_POOL_ZC, so the XDP core copies the frame
 *    before it leaves the driver (redirect, XDP_TX, xskmap); the buffer
 *    itself stays the driver's whatever the verdict and whether or not
 *    the redirect succeeded, and the driver returns it to its page_pool;
 *  - page_pool_zc_count_rx() and page_pool_zc_count_copy() keep the PD's
 *    frame counters.
 */

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

struct netdev_nl_sock;
struct page_pool;
struct page_pool_zc_pd;

#if IS_ENABLED(CONFIG_PAGE_POOL_ZC)
bool page_pool_is_zc(const struct page_pool *pool);
void *page_pool_zc_netmem_address(netmem_ref netmem);
void page_pool_zc_count_rx(netmem_ref netmem);
void page_pool_zc_count_copy(netmem_ref netmem);

struct page_pool_zc_pd *page_pool_zc_pd_get(struct net *net, u32 id);
void page_pool_zc_pd_put(struct page_pool_zc_pd *pd);
int page_pool_zc_post_page(struct page_pool_zc_pd *pd, unsigned long index);

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

static inline void page_pool_zc_count_rx(netmem_ref netmem)
{
}

static inline void page_pool_zc_count_copy(netmem_ref netmem)
{
}

static inline void page_pool_zc_nl_sock_destroy(struct netdev_nl_sock *priv)
{
}
#endif

#endif /* _NET_PAGE_POOL_ZC_H */
