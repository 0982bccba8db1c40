// SPDX-License-Identifier: GPL-2.0-only
/*
 * page_pool_zc: zero-copy receive into VM guest memory.
 *
 * A page_pool memory provider whose buffers are pages of one VM's guest
 * memory, grouped in a protection domain (PD). The provider, the PD
 * registry and the netlink interface are built here; drivers reach them
 * through include/net/page_pool/zc.h.
 *
 * Lifetime of a PD: the creating netlink socket holds one reference,
 * every page_pool taking pages from the PD holds one (from its init to
 * its destroy, which the page_pool core calls only once every page it
 * handed out is back). Closing the socket unbinds the PD's queues and
 * drops the socket's reference; the pages are unpinned, and their DMA
 * mappings were removed, only after the last reference is gone.
 */

#include <linux/bitmap.h>
#include <linux/dma-mapping.h>
#include <linux/error-injection.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/nospec.h>
#include <linux/percpu.h>
#include <linux/rculist.h>
#include <linux/rtnetlink.h>
#include <linux/sched/mm.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>
#include <net/genetlink.h>
#include <net/netdev_netlink.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/memory_provider.h>
#include <net/page_pool/zc.h>
#include <net/sock.h>
#include <net/xdp.h>
#include <trace/events/page_pool.h>
#include <uapi/linux/netdev.h>

#include "netdev-genl-gen.h"
#include "page_pool_priv.h"
#include "page_pool_zc.h"

static DEFINE_XARRAY_FLAGS(pp_zc_pds, XA_FLAGS_ALLOC1);

/*** Protection domain lifetime ***/

static void pp_zc_pd_unpin(struct page_pool_zc_pd *pd)
{
	/* NICs wrote into them. */
	unpin_user_pages_dirty_lock(pd->pages, pd->area.num_niovs, true);
	if (mmget_not_zero(pd->mm)) {
		account_locked_vm(pd->mm, pd->area.num_niovs, false);
		mmput(pd->mm);
	}
}

/* The PD's own memory, as pp_zc_pd_alloc() made it. */
static void pp_zc_pd_free_mem(struct page_pool_zc_pd *pd)
{
	free_percpu(pd->stats);
	kfree(pd->ranges);
	bitmap_free(pd->discarded);
	bitmap_free(pd->revoked);
	bitmap_free(pd->busy);
	kvfree(pd->posted);
	kvfree(pd->area.niovs);
	kvfree(pd->pages);
	mutex_destroy(&pd->dma_lock);
	kfree(pd);
}

static void pp_zc_pd_free(struct page_pool_zc_pd *pd)
{
	WARN_ON(!list_empty(&pd->dma_maps));
	WARN_ON(atomic_long_read(&pd->inflight));
	WARN_ON(!xa_empty(&pd->bound_rxqs));
	WARN_ON(!xa_empty(&pd->ports));

	xa_destroy(&pd->bound_rxqs);
	xa_destroy(&pd->ports);
	mmdrop(pd->mm);
	put_net(pd->net);
	pp_zc_pd_free_mem(pd);
}

static void pp_zc_pd_free_work(struct work_struct *work)
{
	struct page_pool_zc_pd *pd;

	pd = container_of(work, struct page_pool_zc_pd, free_work);
	pp_zc_mmu_unwatch(pd);
	pp_zc_pd_unpin(pd);
	/* Listed until unpinned: gone from pd-get means the pages are free. */
	xa_erase(&pp_zc_pds, pd->id);
	/* page_pool_zc_dev_pd_get() readers that found it before its last
	 * port detached.
	 */
	synchronize_rcu();
	pp_zc_pd_free(pd);
}

/**
 * page_pool_zc_pd_put() - drop a reference to a protection domain
 * @pd: the PD, from page_pool_zc_pd_get()
 *
 * The last reference unpins the PD's pages, from a work item: it can be
 * dropped from contexts that cannot take the owner's mmap lock.
 */
void page_pool_zc_pd_put(struct page_pool_zc_pd *pd)
{
	if (refcount_dec_and_test(&pd->refs))
		schedule_work(&pd->free_work);
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_put);

/* A PD of @net by id, with a reference; @live: not being destroyed. */
static struct page_pool_zc_pd *
pp_zc_pd_find(struct net *net, u32 id, bool live)
{
	struct page_pool_zc_pd *pd;

	xa_lock(&pp_zc_pds);
	pd = xa_load(&pp_zc_pds, id);
	if (pd && (!net_eq(pd->net, net) || (live && READ_ONCE(pd->closed)) ||
		   !refcount_inc_not_zero(&pd->refs)))
		pd = NULL;
	xa_unlock(&pp_zc_pds);

	return pd;
}

/**
 * page_pool_zc_pd_get() - look up a protection domain by id
 * @net: network namespace the PD must belong to
 * @id: the PD id, as pd-create returned it
 *
 * Return: the PD with a reference held, or NULL if there is no live PD
 * @id in @net. Release it with page_pool_zc_pd_put().
 */
struct page_pool_zc_pd *page_pool_zc_pd_get(struct net *net, u32 id)
{
	return pp_zc_pd_find(net, id, true);
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_get);

/*** Posting ***/

static void pp_zc_push(struct page_pool_zc_pd *pd, unsigned long idx)
{
	if (WARN_ON_ONCE(pd->nr_posted >= pd->area.num_niovs))
		return;
	pd->posted[pd->nr_posted++] = idx;
}

static struct net_iov *pp_zc_pop(struct page_pool_zc_pd *pd)
{
	struct net_iov *niov = NULL;

	spin_lock_bh(&pd->lock);
	if (pd->nr_posted)
		niov = &pd->area.niovs[pd->posted[--pd->nr_posted]];
	spin_unlock_bh(&pd->lock);

	return niov;
}

/* A page a page_pool let go of (queue stopped, pool destroyed, or taken
 * by the consumer) is posted again, unless the consumer took it back
 * (page mode: page_pool_zc_take_page(), page_pool_zc_unpost_page()).
 */
static void pp_zc_return(struct page_pool_zc_pd *pd, struct net_iov *niov)
{
	unsigned long idx = net_iov_idx(niov);

	spin_lock_bh(&pd->lock);
	if (__test_and_clear_bit(idx, pd->revoked))
		__clear_bit(idx, pd->busy);
	else
		pp_zc_push(pd, idx);
	spin_unlock_bh(&pd->lock);
}

/* A page index the consumer gave: page mode only, in range, and clamped
 * under speculation.
 */
static int pp_zc_page_index(const struct page_pool_zc_pd *pd,
			    unsigned long *index)
{
	if (pd->mode != NETDEV_PD_MODE_PAGE)
		return -EINVAL;
	if (*index >= pd->area.num_niovs)
		return -ERANGE;
	*index = array_index_nospec(*index, pd->area.num_niovs);
	return 0;
}

/**
 * page_pool_zc_post_page() - post one page of a page-mode PD for receive
 * @pd: the PD, in page mode
 * @index: page index in the PD (byte offset in its ranges / PAGE_SIZE)
 *
 * A page unposted while a page_pool held it, and not back yet, is posted
 * again where it is: it stays with the page_pool.
 *
 * Return: 0 on success, -EINVAL if @pd is not in page mode, -ERANGE if
 * @index is outside the PD, -EBUSY if the page is already posted, -ESTALE
 * if the owner discarded it (page_pool_zc_repin_page()).
 */
int page_pool_zc_post_page(struct page_pool_zc_pd *pd, unsigned long index)
{
	int err;

	err = pp_zc_page_index(pd, &index);
	if (err)
		return err;
	if (test_bit(index, pd->discarded))
		return -ESTALE;

	spin_lock_bh(&pd->lock);
	if (!__test_and_set_bit(index, pd->busy))
		pp_zc_push(pd, index);
	else if (!__test_and_clear_bit(index, pd->revoked))
		err = -EBUSY;
	spin_unlock_bh(&pd->lock);

	return err;
}
EXPORT_SYMBOL_GPL(page_pool_zc_post_page);
ALLOW_ERROR_INJECTION(page_pool_zc_post_page, ERRNO);

/**
 * page_pool_zc_pd_page_mode() - does the consumer post a PD's pages?
 * @pd: the PD
 *
 * Return: true if @pd is in page mode (page_pool_zc_post_page()).
 */
bool page_pool_zc_pd_page_mode(const struct page_pool_zc_pd *pd)
{
	return pd->mode == NETDEV_PD_MODE_PAGE;
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_page_mode);

/**
 * page_pool_zc_unpost_page() - take back a page posted and not yet used
 * @pd: the PD, in page mode
 * @index: page index in the PD, as given to page_pool_zc_post_page()
 *
 * Return: 0 if the page was still posted and is the consumer's again;
 * -EBUSY if a page_pool holds it: it is the consumer's once the page_pool
 * lets go of it, and until then the NIC may still write it
 * (page_pool_zc_pd_reclaim() makes the PD's queues let go); -ENOENT if it
 * is not posted; -EINVAL or -ERANGE as for posting.
 */
int page_pool_zc_unpost_page(struct page_pool_zc_pd *pd, unsigned long index)
{
	unsigned long i;
	int err;

	err = pp_zc_page_index(pd, &index);
	if (err)
		return err;

	spin_lock_bh(&pd->lock);
	err = test_bit(index, pd->busy) ? -EBUSY : -ENOENT;
	for (i = pd->nr_posted; err == -EBUSY && i > 0; i--) {
		if (pd->posted[i - 1] != index)
			continue;
		pd->posted[i - 1] = pd->posted[--pd->nr_posted];
		__clear_bit(index, pd->busy);
		err = 0;
	}
	if (err == -EBUSY)
		__set_bit(index, pd->revoked);
	spin_unlock_bh(&pd->lock);

	return err;
}
EXPORT_SYMBOL_GPL(page_pool_zc_unpost_page);

/**
 * page_pool_zc_pd_index() - the PD page under an address of its owner
 * @pd: the PD
 * @mm: the address space @uaddr belongs to
 * @uaddr: a user address
 * @index: set to the index in @pd of the page at @uaddr
 *
 * For a consumer that knows buffers by address in the memory the PD was
 * created from (vhost-net translates guest physical addresses with the
 * VMM's memory table). The index is the one of the page pinned at
 * pd-create: if the owner has mapped something else at @uaddr since, the
 * page is discarded until re-pinned (page_pool_zc_repin_page()).
 *
 * Return: 0, -EXDEV if @mm is not the address space @pd was created from,
 * -ENOENT if no range of @pd covers @uaddr.
 */
int page_pool_zc_pd_index(const struct page_pool_zc_pd *pd,
			  const struct mm_struct *mm, unsigned long uaddr,
			  unsigned long *index)
{
	unsigned long first = 0, off;
	unsigned int i;

	if (mm != pd->mm)
		return -EXDEV;

	for (i = 0; i < pd->nr_ranges; i++) {
		off = (uaddr - pd->ranges[i].addr) >> PAGE_SHIFT;
		if (uaddr >= pd->ranges[i].addr && off < pd->ranges[i].npages) {
			*index = first + off;
			return 0;
		}
		first += pd->ranges[i].npages;
	}
	return -ENOENT;
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_index);

/**
 * page_pool_zc_take_page() - take a frame's page out of its page_pool
 * @frame: a raw frame in a page of a page-mode PD, with a page_pool
 *	   reference
 *
 * For the consumer that completes the buffer the page was posted for: if
 * @frame holds the only reference to the page, the page leaves its
 * page_pool without being recycled, so the NIC cannot write it again until
 * it is posted again, and @frame's reference is gone. Otherwise nothing
 * changes: the page stays in the page_pool's circulation and the consumer
 * copies the frame and releases it as usual.
 *
 * Context: process or softirq, not hardirq.
 * Return: true if the page was taken.
 */
bool page_pool_zc_take_page(const struct netdev_tx_raw_frame *frame)
{
	netmem_ref netmem = frame->netmem;
	struct page_pool_zc_pd *pd;

	pd = pp_zc_niov_pd(netmem_to_net_iov(netmem));
	if (pd->mode != NETDEV_PD_MODE_PAGE)
		return false;
	/* Only the page_pool makes new references, to pages it holds. */
	if (atomic_long_read(netmem_get_pp_ref_count_ref(netmem)) != 1)
		return false;

	spin_lock_bh(&pd->lock);
	__set_bit(page_pool_zc_netmem_index(netmem), pd->revoked);
	spin_unlock_bh(&pd->lock);
	page_pool_return_page(netmem_get_pp(netmem), netmem);
	return true;
}
EXPORT_SYMBOL_GPL(page_pool_zc_take_page);

/*** DMA mappings, one per device and direction, shared by page_pools ***/

static struct pp_zc_dma_map *
pp_zc_dma_map_find(struct page_pool_zc_pd *pd, struct device *dev,
		   enum dma_data_direction dir)
{
	struct pp_zc_dma_map *map;

	list_for_each_entry_rcu(map, &pd->dma_maps, node,
				lockdep_is_held(&pd->dma_lock))
		if (map->dev == dev && map->dir == dir)
			return map;

	return NULL;
}

static void pp_zc_dma_unmap(struct page_pool_zc_pd *pd,
			    struct pp_zc_dma_map *map)
{
	unsigned long i;

	for (i = 0; i < map->nr_mapped; i++) {
		dma_unmap_page_attrs(map->dev, map->addrs[i], PAGE_SIZE,
				     map->dir, DMA_ATTR_SKIP_CPU_SYNC);
		cond_resched();
	}
	put_device(map->dev);
}

static struct pp_zc_dma_map *
pp_zc_dma_map_create(struct page_pool_zc_pd *pd, struct device *dev,
		     enum dma_data_direction dir)
{
	unsigned long npages = pd->area.num_niovs;
	struct pp_zc_dma_map *map;
	dma_addr_t addr;

	map = kvzalloc(struct_size(map, addrs, npages), GFP_KERNEL);
	if (!map)
		return ERR_PTR(-ENOMEM);

	map->dev = get_device(dev);
	map->dir = dir;
	refcount_set(&map->users, 1);

	for (; map->nr_mapped < npages; map->nr_mapped++) {
		addr = dma_map_page_attrs(dev, pd->pages[map->nr_mapped], 0,
					  PAGE_SIZE, dir,
					  DMA_ATTR_SKIP_CPU_SYNC);
		if (dma_mapping_error(dev, addr))
			goto err_unmap;
		map->addrs[map->nr_mapped] = addr;
		cond_resched();
	}

	return map;

err_unmap:
	pp_zc_dma_unmap(pd, map);
	kvfree(map);
	return ERR_PTR(-ENOMEM);
}

static noinline int pp_zc_dma_map_get(struct page_pool_zc_pd *pd,
				      struct device *dev,
				      enum dma_data_direction dir)
{
	struct pp_zc_dma_map *map;
	int err = 0;

	mutex_lock(&pd->dma_lock);
	map = pp_zc_dma_map_find(pd, dev, dir);
	if (map) {
		refcount_inc(&map->users);
		goto out_unlock;
	}

	map = pp_zc_dma_map_create(pd, dev, dir);
	if (IS_ERR(map)) {
		err = PTR_ERR(map);
		goto out_unlock;
	}
	list_add_tail_rcu(&map->node, &pd->dma_maps);

out_unlock:
	mutex_unlock(&pd->dma_lock);
	return err;
}
ALLOW_ERROR_INJECTION(pp_zc_dma_map_get, ERRNO);

static void pp_zc_dma_map_free_rcu(struct rcu_head *head)
{
	kvfree(container_of(head, struct pp_zc_dma_map, rcu));
}

static void pp_zc_dma_map_put(struct page_pool_zc_pd *pd, struct device *dev,
			      enum dma_data_direction dir)
{
	struct pp_zc_dma_map *map;

	mutex_lock(&pd->dma_lock);
	map = pp_zc_dma_map_find(pd, dev, dir);
	if (!WARN_ON_ONCE(!map) && refcount_dec_and_test(&map->users)) {
		list_del_rcu(&map->node);
		pp_zc_dma_unmap(pd, map);
		call_rcu(&map->rcu, pp_zc_dma_map_free_rcu);
	}
	mutex_unlock(&pd->dma_lock);
}

/*** Memory provider ops ***/

static int pp_zc_init(struct page_pool *pool)
{
	struct page_pool_zc_pd *pd = pool->mp_priv;
	int err;

	if (!pd)
		return -EINVAL;
	/* The NIC gets the PD's own mappings, through the page_pool. */
	if (!pool->dma_map)
		return -EOPNOTSUPP;
	if (pool->p.order != 0)
		return -E2BIG;

	err = pp_zc_dma_map_get(pd, pool->p.dev, pool->p.dma_dir);
	if (err)
		return err;

	refcount_inc(&pd->refs);
	return 0;
}

static void pp_zc_destroy(struct page_pool *pool)
{
	struct page_pool_zc_pd *pd = pool->mp_priv;

	pp_zc_dma_map_put(pd, pool->p.dev, pool->p.dma_dir);
	page_pool_zc_pd_put(pd);
}

static netmem_ref pp_zc_alloc_netmems(struct page_pool *pool, gfp_t gfp)
{
	struct page_pool_zc_pd *pd = pool->mp_priv;
	struct pp_zc_dma_map *map;
	struct net_iov *niov;
	netmem_ref netmem;
	dma_addr_t addr;

	niov = pp_zc_pop(pd);
	if (unlikely(!niov)) {
		this_cpu_inc(pd->stats->v[PP_ZC_STAT_STARVED]);
		return 0;
	}

	rcu_read_lock();
	map = pp_zc_dma_map_find(pd, pool->p.dev, pool->p.dma_dir);
	addr = map->addrs[net_iov_idx(niov)];
	rcu_read_unlock();

	netmem = net_iov_to_netmem(niov);
	page_pool_set_dma_addr_netmem(netmem, addr);
	page_pool_set_pp_info(pool, netmem);
	if (pool->dma_sync)
		dma_sync_single_range_for_device(pool->p.dev, addr,
						 pool->p.offset,
						 pool->p.max_len,
						 pool->p.dma_dir);
	atomic_long_inc(&pd->inflight);

	pool->pages_state_hold_cnt++;
	trace_page_pool_state_hold(pool, netmem, pool->pages_state_hold_cnt);
	return netmem;
}
ALLOW_ERROR_INJECTION(pp_zc_alloc_netmems, NULL);

static bool pp_zc_release_netmem(struct page_pool *pool, netmem_ref netmem)
{
	long refcount = atomic_long_read(netmem_get_pp_ref_count_ref(netmem));
	struct page_pool_zc_pd *pd = pool->mp_priv;
	struct net_iov *niov;

	if (WARN_ON_ONCE(!netmem_is_net_iov(netmem)))
		return false;
	if (WARN_ON_ONCE(refcount != 1))
		return false;

	niov = netmem_to_net_iov(netmem);
	page_pool_clear_pp_info(netmem);
	atomic_long_dec(&pd->inflight);
	pp_zc_return(pd, niov);

	/* Never to the page allocator: the page is guest memory. */
	return false;
}

static int pp_zc_nl_fill(void *mp_priv, struct sk_buff *rsp,
			 struct netdev_rx_queue *rxq)
{
	const struct page_pool_zc_pd *pd = mp_priv;
	int type = rxq ? NETDEV_A_QUEUE_PD_ID : NETDEV_A_PAGE_POOL_PD_ID;

	return nla_put_u32(rsp, type, pd->id);
}

static void pp_zc_uninstall(void *mp_priv, struct netdev_rx_queue *rxq)
{
	struct page_pool_zc_pd *pd = mp_priv;
	struct netdev_rx_queue *bound;
	unsigned long idx;

	xa_for_each(&pd->bound_rxqs, idx, bound) {
		if (bound == rxq) {
			xa_erase(&pd->bound_rxqs, idx);
			break;
		}
	}
	rxq->mp_params.mp_ops = NULL;
	rxq->mp_params.mp_priv = NULL;
}

const struct memory_provider_ops pp_zc_ops = {
	.init			= pp_zc_init,
	.destroy		= pp_zc_destroy,
	.alloc_netmems		= pp_zc_alloc_netmems,
	.release_netmem		= pp_zc_release_netmem,
	.nl_fill		= pp_zc_nl_fill,
	.uninstall		= pp_zc_uninstall,
	.readable		= true,
};

/*** Datapath helpers ***/

/**
 * page_pool_is_zc() - does a page_pool take its pages from a PD?
 * @pool: the page_pool
 *
 * Return: true if @pool's buffers are guest pages of a protection domain.
 */
bool page_pool_is_zc(const struct page_pool *pool)
{
	return pool->mp_ops == &pp_zc_ops;
}
EXPORT_SYMBOL_GPL(page_pool_is_zc);

/**
 * page_pool_zc_netmem_address() - kernel address of a PD buffer
 * @netmem: a netmem from a page_pool for which page_pool_is_zc() is true
 *
 * The page is pinned and in the direct map. The guest may rewrite it at
 * any time: read what you need once.
 *
 * Return: the address of the first byte of the page.
 */
void *page_pool_zc_netmem_address(netmem_ref netmem)
{
	struct net_iov *niov = netmem_to_net_iov(netmem);

	return page_address(pp_zc_niov_pd(niov)->pages[net_iov_idx(niov)]);
}
EXPORT_SYMBOL_GPL(page_pool_zc_netmem_address);

/**
 * page_pool_zc_count() - count an event of a frame in a PD page
 * @netmem: the PD buffer holding the frame
 * @stat: what happened to it
 */
void page_pool_zc_count(netmem_ref netmem, enum page_pool_zc_stat stat)
{
	struct page_pool_zc_pd *pd = pp_zc_niov_pd(netmem_to_net_iov(netmem));

	this_cpu_inc(pd->stats->v[stat]);
}
EXPORT_SYMBOL_GPL(page_pool_zc_count);

/**
 * page_pool_zc_pd_count() - count an event of a PD
 * @pd: the PD
 * @stat: what happened
 */
void page_pool_zc_pd_count(struct page_pool_zc_pd *pd,
			   enum page_pool_zc_stat stat)
{
	this_cpu_inc(pd->stats->v[stat]);
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_count);

/**
 * page_pool_zc_netmem_index() - index of a PD buffer in its PD
 * @netmem: a netmem from a page_pool for which page_pool_is_zc() is true
 *
 * Return: the page's index, as page_pool_zc_pd_index() gives it.
 */
unsigned long page_pool_zc_netmem_index(netmem_ref netmem)
{
	return net_iov_idx(netmem_to_net_iov(netmem));
}
EXPORT_SYMBOL_GPL(page_pool_zc_netmem_index);

/**
 * page_pool_zc_dev_pd_get() - the PD a TX-raw device is attached to
 * @dev: the device
 *
 * Context: RCU read lock held (the device may be detached meanwhile).
 * Return: the PD with a reference held, or NULL if @dev is attached to
 * no live PD. Release it with page_pool_zc_pd_put().
 */
struct page_pool_zc_pd *page_pool_zc_dev_pd_get(const struct net_device *dev)
{
	struct page_pool_zc_pd *pd = READ_ONCE(dev->tx_raw_pd);

	if (pd && (READ_ONCE(pd->closed) || !refcount_inc_not_zero(&pd->refs)))
		return NULL;
	return pd;
}
EXPORT_SYMBOL_GPL(page_pool_zc_dev_pd_get);

/**
 * page_pool_zc_netmem_in_pd() - is a PD buffer one of @pd's pages?
 * @netmem: a netmem from a page_pool for which page_pool_is_zc() is true
 * @pd: a PD, or NULL
 *
 * Only compares: @pd need not be alive.
 *
 * Return: true if @netmem is a page of @pd.
 */
bool page_pool_zc_netmem_in_pd(netmem_ref netmem,
			       const struct page_pool_zc_pd *pd)
{
	return pp_zc_niov_pd(netmem_to_net_iov(netmem)) == pd;
}
EXPORT_SYMBOL_GPL(page_pool_zc_netmem_in_pd);

/**
 * page_pool_zc_raw_frame_free() - release a raw frame's buffer
 * @frame: a frame given to ndo_tx_raw: by the device for a frame it took,
 *	   by the caller for one it did not
 *
 * Drops the page_pool reference the frame came with.
 *
 * Context: process or softirq, not hardirq.
 */
void page_pool_zc_raw_frame_free(const struct netdev_tx_raw_frame *frame)
{
	page_pool_put_full_netmem(netmem_get_pp(frame->netmem), frame->netmem,
				  false);
}
EXPORT_SYMBOL_GPL(page_pool_zc_raw_frame_free);

/*** Creation ***/

/* Index of the first of @r[0..@n) that [@addr, @addr + @len) overlaps, or @n. */
static unsigned int pp_zc_range_overlap(const struct pp_zc_range *r,
					unsigned int n, u64 addr, u64 len)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (addr < r[i].addr + (r[i].npages << PAGE_SHIFT) &&
		    r[i].addr < addr + len)
			break;
	return i;
}

static int pp_zc_parse_ranges(struct genl_info *info, struct pp_zc_range *r,
			      unsigned int *nr_ranges, unsigned long *npages)
{
	struct nlattr *tb[ARRAY_SIZE(netdev_pd_range_nl_policy)];
	struct netlink_ext_ack *extack = info->extack;
	unsigned int n = 0, i;
	struct nlattr *attr;
	u64 addr, len;
	int rem, err;

	*npages = 0;
	nla_for_each_attr_type(attr, NETDEV_A_PD_RANGE,
			       genlmsg_data(info->genlhdr),
			       genlmsg_len(info->genlhdr), rem) {
		if (n == PP_ZC_MAX_RANGES) {
			NL_SET_ERR_MSG_ATTR_FMT(extack, attr, "more than %u ranges",
						PP_ZC_MAX_RANGES);
			return -E2BIG;
		}
		err = nla_parse_nested(tb, ARRAY_SIZE(tb) - 1, attr,
				       netdev_pd_range_nl_policy, extack);
		if (err)
			return err;
		if (NL_REQ_ATTR_CHECK(extack, attr, tb, NETDEV_A_PD_RANGE_ADDR) ||
		    NL_REQ_ATTR_CHECK(extack, attr, tb, NETDEV_A_PD_RANGE_LEN))
			return -EINVAL;

		addr = nla_get_u64(tb[NETDEV_A_PD_RANGE_ADDR]);
		len = nla_get_u64(tb[NETDEV_A_PD_RANGE_LEN]);
		if (!PAGE_ALIGNED(addr) || !PAGE_ALIGNED(len) || !len) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "range not page-aligned or empty");
			return -EINVAL;
		}
		if (addr + len < addr || addr + len > TASK_SIZE_MAX ||
		    len >> PAGE_SHIFT > PP_ZC_MAX_PAGES - *npages) {
			NL_SET_ERR_MSG_ATTR_FMT(extack, attr,
						"range too large (at most %lu pages in a PD)",
						PP_ZC_MAX_PAGES);
			return -E2BIG;
		}

		/* One page, one net_iov: else two DMAs could target a page. */
		i = pp_zc_range_overlap(r, n, addr, len);
		if (i < n) {
			NL_SET_ERR_MSG_ATTR_FMT(extack, attr,
						"range %u overlaps range %u", n, i);
			return -EINVAL;
		}

		r[n].addr = addr;
		r[n].npages = len >> PAGE_SHIFT;
		*npages += r[n].npages;
		n++;
	}

	if (!n) {
		NL_SET_ERR_MSG(extack, "no range given");
		return -EINVAL;
	}
	*nr_ranges = n;
	return 0;
}

static noinline int pp_zc_pin(struct page_pool_zc_pd *pd,
			      const struct pp_zc_range *r,
			      unsigned int nr_ranges,
			      struct netlink_ext_ack *extack)
{
	unsigned long done = 0;
	unsigned int i;
	long pinned;

	for (i = 0; i < nr_ranges; i++) {
		pinned = pin_user_pages_fast(r[i].addr, r[i].npages,
					     FOLL_WRITE | FOLL_LONGTERM,
					     pd->pages + done);
		if (pinned > 0)
			done += pinned;
		if (pinned != r[i].npages) {
			NL_SET_ERR_MSG_FMT(extack,
					   "range %u not mapped or not pinnable at page %ld",
					   i, pinned < 0 ? 0 : pinned);
			goto err_unpin;
		}
	}
	return 0;

err_unpin:
	unpin_user_pages(pd->pages, done);
	return -EFAULT;
}
ALLOW_ERROR_INJECTION(pp_zc_pin, ERRNO);

static struct page_pool_zc_pd *pp_zc_pd_alloc(const struct pp_zc_range *r,
					      unsigned int nr_ranges,
					      unsigned long npages, u32 mode)
{
	struct page_pool_zc_pd *pd;
	unsigned long i;

	pd = kzalloc(sizeof(*pd), GFP_KERNEL_ACCOUNT);
	if (!pd)
		return NULL;
	mutex_init(&pd->dma_lock);

	/* About 60 bytes a page, charged to the creator's memory cgroup. */
	pd->pages = kvcalloc(npages, sizeof(*pd->pages), GFP_KERNEL_ACCOUNT);
	pd->area.niovs = kvcalloc(npages, sizeof(*pd->area.niovs),
				  GFP_KERNEL_ACCOUNT);
	pd->posted = kvcalloc(npages, sizeof(*pd->posted), GFP_KERNEL_ACCOUNT);
	pd->busy = bitmap_zalloc(npages, GFP_KERNEL_ACCOUNT);
	pd->revoked = bitmap_zalloc(npages, GFP_KERNEL_ACCOUNT);
	pd->discarded = bitmap_zalloc(npages, GFP_KERNEL_ACCOUNT);
	pd->stats = alloc_percpu_gfp(struct pp_zc_stats, GFP_KERNEL_ACCOUNT);
	pd->ranges = kmemdup_array(r, nr_ranges, sizeof(*r),
				   GFP_KERNEL_ACCOUNT);
	if (!pd->pages || !pd->area.niovs || !pd->posted || !pd->busy ||
	    !pd->revoked || !pd->discarded || !pd->stats || !pd->ranges)
		goto err_free;
	pd->nr_ranges = nr_ranges;

	pd->area.num_niovs = npages;
	for (i = 0; i < npages; i++)
		pd->area.niovs[i].owner = &pd->area;

	pd->mode = mode;
	refcount_set(&pd->refs, 1);
	spin_lock_init(&pd->lock);
	INIT_LIST_HEAD(&pd->dma_maps);
	xa_init_flags(&pd->bound_rxqs, XA_FLAGS_ALLOC);
	xa_init(&pd->ports);
	INIT_WORK(&pd->free_work, pp_zc_pd_free_work);
	pp_zc_reclaim_init(pd);

	/* Region mode: everything posted, popped in ascending order. */
	if (mode == NETDEV_PD_MODE_REGION) {
		for (i = npages; i > 0; i--)
			pp_zc_push(pd, i - 1);
		bitmap_fill(pd->busy, npages);
	}
	return pd;

err_free:
	pp_zc_pd_free_mem(pd);
	return NULL;
}

int netdev_nl_pd_create_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct pp_zc_range *ranges;
	struct page_pool_zc_pd *pd;
	struct netdev_nl_sock *priv;
	unsigned int nr_ranges;
	unsigned long npages;
	struct sk_buff *rsp;
	u32 mode;
	void *hdr;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, NETDEV_A_PD_RANGE))
		return -EINVAL;
	mode = NETDEV_PD_MODE_REGION;
	if (info->attrs[NETDEV_A_PD_MODE])
		mode = nla_get_u32(info->attrs[NETDEV_A_PD_MODE]);

	priv = genl_sk_priv_get(&netdev_nl_family, NETLINK_CB(skb).sk);
	if (IS_ERR(priv))
		return PTR_ERR(priv);

	ranges = kcalloc(PP_ZC_MAX_RANGES, sizeof(*ranges), GFP_KERNEL);
	if (!ranges)
		return -ENOMEM;
	err = pp_zc_parse_ranges(info, ranges, &nr_ranges, &npages);
	if (err)
		goto err_free_ranges;

	rsp = genlmsg_new(GENLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!rsp) {
		err = -ENOMEM;
		goto err_free_ranges;
	}
	hdr = genlmsg_iput(rsp, info);
	if (!hdr) {
		err = -EMSGSIZE;
		goto err_free_rsp;
	}

	/* Before anything is allocated by the page. */
	err = account_locked_vm(current->mm, npages, true);
	if (err) {
		NL_SET_ERR_MSG_FMT(extack,
				   "%lu pages exceed the locked memory limit (RLIMIT_MEMLOCK)",
				   npages);
		goto err_free_rsp;
	}

	pd = pp_zc_pd_alloc(ranges, nr_ranges, npages, mode);
	if (!pd) {
		err = -ENOMEM;
		goto err_unaccount;
	}
	pd->mm = current->mm;
	mmgrab(pd->mm);
	pd->trust_guest = nla_get_flag(info->attrs[NETDEV_A_PD_TRUST_GUEST]);

	err = pp_zc_pin(pd, ranges, nr_ranges, extack);
	if (err)
		goto err_free_pd;
	err = pp_zc_mmu_watch(pd, current->mm);
	if (err)
		goto err_unpin;
	pd->net = get_net(genl_info_net(info));

	/* Reserve the id; the PD becomes visible once complete. */
	err = xa_alloc(&pp_zc_pds, &pd->id, NULL, xa_limit_31b, GFP_KERNEL);
	if (err)
		goto err_put_net;

	if (nla_put_u32(rsp, NETDEV_A_PD_ID, pd->id)) {
		err = -EMSGSIZE;
		goto err_erase_id;
	}
	genlmsg_end(rsp, hdr);
	xa_store(&pp_zc_pds, pd->id, pd, GFP_KERNEL);

	mutex_lock(&priv->lock);
	list_add(&pd->sock_node, &priv->pds);
	mutex_unlock(&priv->lock);

	kfree(ranges);
	return genlmsg_reply(rsp, info);

err_erase_id:
	xa_erase(&pp_zc_pds, pd->id);
err_put_net:
	put_net(pd->net);
	pp_zc_mmu_unwatch(pd);
err_unpin:
	unpin_user_pages(pd->pages, npages);
err_free_pd:
	mmdrop(pd->mm);
	pp_zc_pd_free_mem(pd);
err_unaccount:
	account_locked_vm(current->mm, npages, false);
err_free_rsp:
	nlmsg_free(rsp);
err_free_ranges:
	kfree(ranges);
	return err;
}

/*** Binding ***/

static struct page_pool_zc_pd *pp_zc_pd_lookup(struct genl_info *info,
					       bool live)
{
	struct page_pool_zc_pd *pd;

	pd = pp_zc_pd_find(genl_info_net(info),
			   nla_get_u32(info->attrs[NETDEV_A_PD_ID]), live);
	if (!pd)
		NL_SET_ERR_MSG_ATTR(info->extack, info->attrs[NETDEV_A_PD_ID],
				    "unknown protection domain");
	return pd;
}

/* @present: the device must be present (not for taking things back). */
static struct net_device *pp_zc_dev_lookup(struct genl_info *info,
					   bool present)
{
	struct net_device *dev;

	dev = __dev_get_by_index(genl_info_net(info),
				 nla_get_u32(info->attrs[NETDEV_A_PD_IFINDEX]));
	if (!dev || (present && !netif_device_present(dev))) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[NETDEV_A_PD_IFINDEX],
				    "no such device in this network namespace");
		return NULL;
	}
	return dev;
}

static void pp_zc_bind_end(struct page_pool_zc_pd *pd)
{
	rtnl_unlock();
	page_pool_zc_pd_put(pd);
}

/* Common start of pd-bind, pd-unbind (@rxq_idx set), pd-attach and
 * pd-detach (@rxq_idx NULL); @present as for pp_zc_dev_lookup(). On
 * success RTNL is held and a reference to the PD taken: pp_zc_bind_end()
 * releases both.
 */
static int pp_zc_bind_begin(struct genl_info *info,
			    struct page_pool_zc_pd **pd,
			    struct net_device **dev, u32 *rxq_idx,
			    bool present)
{
	if (GENL_REQ_ATTR_CHECK(info, NETDEV_A_PD_ID) ||
	    GENL_REQ_ATTR_CHECK(info, NETDEV_A_PD_IFINDEX) ||
	    (rxq_idx && GENL_REQ_ATTR_CHECK(info, NETDEV_A_PD_QUEUE_ID)))
		return -EINVAL;
	if (rxq_idx)
		*rxq_idx = nla_get_u32(info->attrs[NETDEV_A_PD_QUEUE_ID]);

	*pd = pp_zc_pd_lookup(info, true);
	if (!*pd)
		return -ENOENT;

	rtnl_lock();
	/* Closing unbinds and detaches everything under RTNL (a queue that
	 * fails to restart is unbound by the PD's reclaim work): nothing to
	 * add, nothing for the owner to take back.
	 */
	if ((*pd)->closed) {
		NL_SET_ERR_MSG(info->extack, "protection domain is being destroyed");
		pp_zc_bind_end(*pd);
		return -ENOENT;
	}
	*dev = pp_zc_dev_lookup(info, present);
	if (!*dev) {
		pp_zc_bind_end(*pd);
		return -ENODEV;
	}
	return 0;
}

int netdev_nl_pd_bind_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct pp_memory_provider_params p = { .mp_ops = &pp_zc_ops };
	struct page_pool_zc_pd *pd;
	struct net_device *dev;
	u32 rxq_idx, xa_idx;
	int err;

	err = pp_zc_bind_begin(info, &pd, &dev, &rxq_idx, true);
	if (err)
		return err;
	p.mp_priv = pd;

	err = xa_alloc(&pd->bound_rxqs, &xa_idx, NULL, xa_limit_32b,
		       GFP_KERNEL);
	if (err)
		goto out_end;

	err = __net_mp_open_rxq(dev, rxq_idx, &p, info->extack);
	if (err)
		goto err_erase;

	xa_store(&pd->bound_rxqs, xa_idx, __netif_get_rx_queue(dev, rxq_idx),
		 GFP_KERNEL);
	goto out_end;

err_erase:
	xa_erase(&pd->bound_rxqs, xa_idx);
out_end:
	pp_zc_bind_end(pd);
	return err;
}

int netdev_nl_pd_unbind_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct netdev_rx_queue *rxq, *bound;
	struct page_pool_zc_pd *pd;
	struct net_device *dev;
	unsigned long xa_idx;
	u32 rxq_idx;
	int err;

	err = pp_zc_bind_begin(info, &pd, &dev, &rxq_idx, true);
	if (err)
		return err;

	if (rxq_idx >= dev->real_num_rx_queues) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[NETDEV_A_PD_QUEUE_ID],
				    "rx queue index out of range");
		err = -ERANGE;
		goto out_end;
	}
	rxq_idx = array_index_nospec(rxq_idx, dev->real_num_rx_queues);
	rxq = __netif_get_rx_queue(dev, rxq_idx);

	xa_for_each(&pd->bound_rxqs, xa_idx, bound)
		if (bound == rxq)
			break;
	if (bound != rxq) {
		NL_SET_ERR_MSG(info->extack,
			       "queue is not bound to this protection domain");
		err = -ENOENT;
		goto out_end;
	}

	err = pp_zc_unbind_rxq(pd, xa_idx, rxq);
	if (err)
		NL_SET_ERR_MSG(info->extack,
			       "driver failed to restart the queue: still bound");

out_end:
	pp_zc_bind_end(pd);
	return err;
}

/*** Ports: devices with ndo_tx_raw attached to a PD ***/

static void pp_zc_detach(struct page_pool_zc_pd *pd, struct net_device *dev)
{
	ASSERT_RTNL();

	xa_erase(&pd->ports, dev->ifindex);
	WRITE_ONCE(dev->tx_raw_pd, NULL);
	/* No frames: wake the device's readers, so that one holding the PD
	 * (vhost-net) lets go of it now, not at its next frame or kick.
	 */
	local_bh_disable();
	dev->netdev_ops->ndo_tx_raw(dev, 0, NULL, XDP_XMIT_FLUSH);
	local_bh_enable();
	page_pool_zc_pd_put(pd);
}

static void pp_zc_detach_all(struct page_pool_zc_pd *pd)
{
	struct net_device *dev;
	unsigned long ifindex;

	xa_for_each(&pd->ports, ifindex, dev)
		pp_zc_detach(pd, dev);
}

int netdev_nl_pd_attach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct page_pool_zc_pd *pd;
	struct net_device *dev;
	int err;

	err = pp_zc_bind_begin(info, &pd, &dev, NULL, true);
	if (err)
		return err;

	if (!dev->netdev_ops->ndo_tx_raw) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[NETDEV_A_PD_IFINDEX],
				    "device does not support TX-raw");
		err = -EOPNOTSUPP;
		goto out_end;
	}
	if (dev->tx_raw_pd) {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[NETDEV_A_PD_IFINDEX],
				    "device already attached to a protection domain");
		err = -EBUSY;
		goto out_end;
	}

	err = xa_insert(&pd->ports, dev->ifindex, dev, GFP_KERNEL);
	if (err)
		goto out_end;
	refcount_inc(&pd->refs);
	WRITE_ONCE(dev->tx_raw_pd, pd);

out_end:
	pp_zc_bind_end(pd);
	return err;
}

int netdev_nl_pd_detach_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct page_pool_zc_pd *pd;
	struct net_device *dev;
	int err;

	err = pp_zc_bind_begin(info, &pd, &dev, NULL, false);
	if (err)
		return err;

	if (dev->tx_raw_pd == pd) {
		pp_zc_detach(pd, dev);
	} else {
		NL_SET_ERR_MSG_ATTR(info->extack,
				    info->attrs[NETDEV_A_PD_IFINDEX],
				    "device is not attached to this protection domain");
		err = -ENOENT;
	}

	pp_zc_bind_end(pd);
	return err;
}

/* An attached device leaving (unregistered, or moved to another netns). */
static int pp_zc_netdev_event(struct notifier_block *nb, unsigned long event,
			      void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);

	if (event == NETDEV_UNREGISTER && dev->tx_raw_pd)
		pp_zc_detach(dev->tx_raw_pd, dev);
	return NOTIFY_DONE;
}

static struct notifier_block pp_zc_netdev_nb = {
	.notifier_call	= pp_zc_netdev_event,
};

static int __init page_pool_zc_init(void)
{
	return register_netdevice_notifier(&pp_zc_netdev_nb);
}
subsys_initcall(page_pool_zc_init);

static void pp_zc_pd_close(struct page_pool_zc_pd *pd)
{
	rtnl_lock();
	WRITE_ONCE(pd->closed, true);
	pp_zc_pd_close_rxqs(pd);
	pp_zc_detach_all(pd);
	rtnl_unlock();

	page_pool_zc_pd_put(pd);
}

/**
 * page_pool_zc_nl_sock_destroy() - the owner of some PDs closed its socket
 * @priv: the socket's netdev family state
 *
 * Close every PD the socket created and drop the socket's reference. A
 * queue whose restart fails stays bound until the PD's reclaim work
 * unbinds it; the pages are unpinned once the page_pools returned them.
 */
void page_pool_zc_nl_sock_destroy(struct netdev_nl_sock *priv)
{
	struct page_pool_zc_pd *pd, *tmp;

	list_for_each_entry_safe(pd, tmp, &priv->pds, sock_node) {
		list_del(&pd->sock_node);
		pp_zc_pd_close(pd);
	}
}

/*** Dump ***/

static int pp_zc_nl_fill_binding(struct sk_buff *rsp,
				 struct netdev_rx_queue *rxq)
{
	struct nlattr *nest;

	nest = nla_nest_start(rsp, NETDEV_A_PD_BINDING);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(rsp, NETDEV_A_PD_BINDING_IFINDEX, rxq->dev->ifindex) ||
	    nla_put_u32(rsp, NETDEV_A_PD_BINDING_QUEUE_ID,
			get_netdev_rx_queue_index(rxq))) {
		nla_nest_cancel(rsp, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(rsp, nest);
	return 0;
}

static void pp_zc_stats_sum(struct page_pool_zc_pd *pd, struct pp_zc_stats *s)
{
	const struct pp_zc_stats *c;
	int cpu, i;

	memset(s, 0, sizeof(*s));
	for_each_possible_cpu(cpu) {
		c = per_cpu_ptr(pd->stats, cpu);
		for (i = 0; i < PP_ZC_STAT_MAX; i++)
			s->v[i] += READ_ONCE(c->v[i]);
	}
}

static int pp_zc_nl_fill_stats(struct sk_buff *rsp, struct page_pool_zc_pd *pd)
{
	static const int attr[PP_ZC_STAT_MAX] = {
		[PP_ZC_STAT_RX_ZC]		= NETDEV_A_PD_RX_ZC,
		[PP_ZC_STAT_RX_COPY]		= NETDEV_A_PD_RX_COPY,
		[PP_ZC_STAT_STARVED]		= NETDEV_A_PD_STARVED,
		[PP_ZC_STAT_REDIRECT_ZC]	= NETDEV_A_PD_REDIRECT_ZC,
		[PP_ZC_STAT_REDIRECT_COPY]	= NETDEV_A_PD_REDIRECT_COPY,
		[PP_ZC_STAT_MISDIRECTED]	= NETDEV_A_PD_MISDIRECTED,
		[PP_ZC_STAT_PORT_COPY]		= NETDEV_A_PD_PORT_COPY,
		[PP_ZC_STAT_GUEST_ZC]		= NETDEV_A_PD_GUEST_ZC,
		[PP_ZC_STAT_POST_REFUSED]	= NETDEV_A_PD_POST_REFUSED,
		[PP_ZC_STAT_DROP_PASS]		= NETDEV_A_PD_DROP_PASS,
		[PP_ZC_STAT_DROP_TX]		= NETDEV_A_PD_DROP_TX,
		[PP_ZC_STAT_DROP_REDIRECT]	= NETDEV_A_PD_DROP_REDIRECT,
		[PP_ZC_STAT_RECLAIM_RETRY]	= NETDEV_A_PD_RECLAIM_RETRY,
		[PP_ZC_STAT_DROP_PORT]		= NETDEV_A_PD_DROP_PORT,
		[PP_ZC_STAT_DISCARDED]		= NETDEV_A_PD_DISCARDED,
	};
	struct pp_zc_stats stats;
	int i;

	pp_zc_stats_sum(pd, &stats);
	for (i = 0; i < PP_ZC_STAT_MAX; i++)
		if (nla_put_uint(rsp, attr[i], stats.v[i]))
			return -EMSGSIZE;
	return 0;
}

static int pp_zc_nl_fill_port(struct sk_buff *rsp, int ifindex)
{
	struct nlattr *nest;

	nest = nla_nest_start(rsp, NETDEV_A_PD_PORT);
	if (!nest)
		return -EMSGSIZE;
	if (nla_put_u32(rsp, NETDEV_A_PD_PORT_IFINDEX, ifindex)) {
		nla_nest_cancel(rsp, nest);
		return -EMSGSIZE;
	}
	nla_nest_end(rsp, nest);
	return 0;
}

/* Caller holds RTNL (the bound queues' devices stay). */
static int pp_zc_pd_nl_fill(struct sk_buff *rsp, struct page_pool_zc_pd *pd,
			    const struct genl_info *info)
{
	struct netdev_rx_queue *rxq;
	struct net_device *dev;
	unsigned long xa_idx;
	void *hdr;

	hdr = genlmsg_iput(rsp, info);
	if (!hdr)
		return -EMSGSIZE;

	if (nla_put_u32(rsp, NETDEV_A_PD_ID, pd->id) ||
	    nla_put_u32(rsp, NETDEV_A_PD_MODE, pd->mode) ||
	    nla_put_uint(rsp, NETDEV_A_PD_PAGES, pd->area.num_niovs) ||
	    nla_put_uint(rsp, NETDEV_A_PD_POSTED, READ_ONCE(pd->nr_posted)) ||
	    nla_put_uint(rsp, NETDEV_A_PD_INFLIGHT,
			 atomic_long_read(&pd->inflight)) ||
	    (pd->trust_guest && nla_put_flag(rsp, NETDEV_A_PD_TRUST_GUEST)) ||
	    pp_zc_nl_fill_stats(rsp, pd))
		goto err_cancel;

	xa_for_each(&pd->bound_rxqs, xa_idx, rxq)
		if (pp_zc_nl_fill_binding(rsp, rxq))
			goto err_cancel;

	xa_for_each(&pd->ports, xa_idx, dev)
		if (pp_zc_nl_fill_port(rsp, dev->ifindex))
			goto err_cancel;

	genlmsg_end(rsp, hdr);
	return 0;

err_cancel:
	genlmsg_cancel(rsp, hdr);
	return -EMSGSIZE;
}

int netdev_nl_pd_get_doit(struct sk_buff *skb, struct genl_info *info)
{
	struct page_pool_zc_pd *pd;
	struct sk_buff *rsp;
	int err;

	if (GENL_REQ_ATTR_CHECK(info, NETDEV_A_PD_ID))
		return -EINVAL;

	rsp = genlmsg_new(GENLMSG_DEFAULT_SIZE, GFP_KERNEL);
	if (!rsp)
		return -ENOMEM;

	pd = pp_zc_pd_lookup(info, false);
	if (!pd) {
		err = -ENOENT;
		goto err_free_rsp;
	}

	rtnl_lock();
	err = pp_zc_pd_nl_fill(rsp, pd, info);
	rtnl_unlock();
	page_pool_zc_pd_put(pd);
	if (err)
		goto err_free_rsp;

	return genlmsg_reply(rsp, info);

err_free_rsp:
	nlmsg_free(rsp);
	return err;
}

struct pp_zc_dump_ctx {
	unsigned long idx;
};

int netdev_nl_pd_get_dumpit(struct sk_buff *skb, struct netlink_callback *cb)
{
	struct pp_zc_dump_ctx *ctx = (void *)cb->ctx;
	const struct genl_info *info = genl_info_dump(cb);
	struct net *net = sock_net(skb->sk);
	struct page_pool_zc_pd *pd;
	int err = 0;

	rtnl_lock();
	for (;;) {
		xa_lock(&pp_zc_pds);
		pd = xa_find(&pp_zc_pds, &ctx->idx, ULONG_MAX, XA_PRESENT);
		while (pd && (!net_eq(pd->net, net) ||
			      !refcount_inc_not_zero(&pd->refs)))
			pd = xa_find_after(&pp_zc_pds, &ctx->idx, ULONG_MAX,
					   XA_PRESENT);
		xa_unlock(&pp_zc_pds);
		if (!pd)
			break;

		err = pp_zc_pd_nl_fill(skb, pd, info);
		page_pool_zc_pd_put(pd);
		if (err)
			break;
		ctx->idx++;
	}
	rtnl_unlock();

	return err;
}
