/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * page_pool_zc: what the files of net/core/page_pool_zc*.c share.
 */
#ifndef _NET_CORE_PAGE_POOL_ZC_H
#define _NET_CORE_PAGE_POOL_ZC_H

#include <linux/dma-direction.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/rcupdate.h>
#include <linux/refcount.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/netdev_rx_queue.h>
#include <net/netmem.h>
#include <net/page_pool/zc.h>
#include <uapi/linux/netdev.h>

/* Bounds on what one pd-create may register. */
#define PP_ZC_MAX_RANGES	64
#define PP_ZC_MAX_PAGES		((unsigned long)(SZ_16G >> PAGE_SHIFT))

/* The PD's pages mapped for one device and direction. */
struct pp_zc_dma_map {
	struct list_head node;		/* in pd->dma_maps, RCU */
	struct device *dev;
	enum dma_data_direction dir;
	refcount_t users;		/* page_pools using this mapping */
	unsigned long nr_mapped;
	struct rcu_head rcu;
	dma_addr_t addrs[];
};

struct pp_zc_stats {
	unsigned long v[PP_ZC_STAT_MAX];
};

/* One user range of a PD, as pd-create gave it. */
struct pp_zc_range {
	unsigned long addr;
	unsigned long npages;
};

struct page_pool_zc_pd {
	struct net_iov_area area;	/* one net_iov per page */
	struct page **pages;		/* pinned pages, same index */
	u32 id;
	enum netdev_pd_mode mode;
	refcount_t refs;
	bool closed;			/* owner gone, under RTNL */
	bool trust_guest;		/* copies may leave; set before the PD is visible */

	struct net *net;
	struct mm_struct *mm;		/* locked_vm charged here */
	struct pp_zc_range *ranges;	/* where the pages were pinned */
	unsigned int nr_ranges;

	/* Protects posted, nr_posted, busy, revoked, discarded, and the
	 * pages[] and DMA addresses of an idle page (re-pinned under
	 * dma_lock too).
	 */
	spinlock_t lock;
	u32 *posted;			/* stack of posted page indexes */
	unsigned long nr_posted;
	unsigned long *busy;		/* posted or taken by a page_pool */
	unsigned long *revoked;		/* page mode: the consumer's on return */
	unsigned long *discarded;	/* gone from the owner's mapping */
	struct pp_zc_mmu_range *mmu;	/* one notifier per range */

	atomic_long_t inflight;
	struct pp_zc_stats __percpu *stats;

	struct mutex dma_lock;		/* serialises dma_maps and pages[] writers */
	struct list_head dma_maps;

	struct xarray bound_rxqs;	/* RTNL; marked: restart failed */
	struct xarray ports;		/* ifindex -> attached netdev, RTNL */
	struct list_head sock_node;	/* in netdev_nl_sock::pds */
	struct work_struct free_work;
	struct delayed_work reclaim_work; /* restarts that failed, again */
};

extern const struct memory_provider_ops pp_zc_ops;

int pp_zc_unbind_rxq(struct page_pool_zc_pd *pd, unsigned long xa_idx,
		     struct netdev_rx_queue *rxq);
void pp_zc_reclaim_init(struct page_pool_zc_pd *pd);
void pp_zc_pd_close_rxqs(struct page_pool_zc_pd *pd);
int pp_zc_mmu_watch(struct page_pool_zc_pd *pd, struct mm_struct *mm);
void pp_zc_mmu_unwatch(struct page_pool_zc_pd *pd);

static inline struct page_pool_zc_pd *pp_zc_niov_pd(const struct net_iov *niov)
{
	return container_of(net_iov_owner(niov), struct page_pool_zc_pd, area);
}

#endif /* _NET_CORE_PAGE_POOL_ZC_H */
