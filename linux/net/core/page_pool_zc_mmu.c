// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * page_pool_zc: the owner's mapping of a protection domain's pages.
 *
 * A PD pins the pages its owner had mapped at pd-create. If the owner
 * drops one from its mapping since (MADV_DONTNEED by a balloon or free
 * page reporting, munmap), its next access faults in another page, while
 * the NIC and the consumer go on using the pinned one. Such a page is
 * marked discarded: it is not posted until the consumer pins the page
 * mapped there now in its place, and a frame already in it is copied to
 * the owner's address.
 */

#include <linux/bitmap.h>
#include <linux/dma-mapping.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/nospec.h>
#include <linux/slab.h>

#include "page_pool_zc.h"

struct pp_zc_mmu_range {
	struct mmu_interval_notifier mni;
	struct page_pool_zc_pd *pd;
	unsigned long first;		/* PD index of the range's first page */
	unsigned long start, end;
};

static bool pp_zc_mmu_invalidate(struct mmu_interval_notifier *mni,
				 const struct mmu_notifier_range *range,
				 unsigned long cur_seq)
{
	struct pp_zc_mmu_range *r = container_of(mni, struct pp_zc_mmu_range,
						 mni);
	struct page_pool_zc_pd *pd = r->pd;
	unsigned long start, end, i, n = 0;

	spin_lock_bh(&pd->lock);
	mmu_interval_set_seq(mni, cur_seq);
	/* Protection changes keep the page. A CLEAR that does too (a THP
	 * split, KSM or a migration giving up on a pinned page) costs that
	 * page a copy and a re-pin.
	 */
	if (range->event == MMU_NOTIFY_UNMAP ||
	    range->event == MMU_NOTIFY_CLEAR) {
		start = max(range->start, r->start);
		end = min(range->end, r->end);
		for (i = (start - r->start) >> PAGE_SHIFT;
		     i < DIV_ROUND_UP(end - r->start, PAGE_SIZE); i++)
			n += !__test_and_set_bit(r->first + i, pd->discarded);
	}
	spin_unlock_bh(&pd->lock);
	if (n)
		this_cpu_add(pd->stats->v[PP_ZC_STAT_DISCARDED], n);
	return true;
}

static const struct mmu_interval_notifier_ops pp_zc_mmu_ops = {
	.invalidate	= pp_zc_mmu_invalidate,
};

/* Mark the pages of @r the owner dropped between pinning and watching:
 * watching first would count the copy-on-write breaks of the pinning.
 */
static void pp_zc_mmu_check(struct page_pool_zc_pd *pd,
			    struct pp_zc_mmu_range *r)
{
	unsigned long npages = (r->end - r->start) >> PAGE_SHIFT;
	unsigned long i, j, n, idx, dropped = 0;
	struct page *now[32];
	int got;

	for (i = 0; i < npages; i += n) {
		n = min(npages - i, ARRAY_SIZE(now));
		got = get_user_pages_fast(r->start + (i << PAGE_SHIFT), n, 0,
					  now);
		spin_lock_bh(&pd->lock);
		for (j = 0; j < n; j++) {
			idx = r->first + i + j;
			if ((int)j >= got || now[j] != pd->pages[idx])
				dropped += !__test_and_set_bit(idx,
							       pd->discarded);
		}
		spin_unlock_bh(&pd->lock);
		if (got > 0)
			release_pages(now, got);
		cond_resched();
	}
	if (dropped)
		this_cpu_add(pd->stats->v[PP_ZC_STAT_DISCARDED], dropped);
}

/* Watch the owner's mapping of every range, pinned; @mm is the owner's,
 * live.
 */
int pp_zc_mmu_watch(struct page_pool_zc_pd *pd, struct mm_struct *mm)
{
	unsigned long first = 0;
	unsigned int i;
	int err;

	pd->mmu = kcalloc(pd->nr_ranges, sizeof(*pd->mmu), GFP_KERNEL_ACCOUNT);
	if (!pd->mmu)
		return -ENOMEM;

	for (i = 0; i < pd->nr_ranges; i++) {
		struct pp_zc_mmu_range *r = &pd->mmu[i];

		r->pd = pd;
		r->first = first;
		r->start = pd->ranges[i].addr;
		r->end = r->start + (pd->ranges[i].npages << PAGE_SHIFT);
		err = mmu_interval_notifier_insert(&r->mni, mm, r->start,
						   r->end - r->start,
						   &pp_zc_mmu_ops);
		if (err)
			goto err_remove;
		pp_zc_mmu_check(pd, r);
		first += pd->ranges[i].npages;
	}
	return 0;

err_remove:
	while (i--)
		mmu_interval_notifier_remove(&pd->mmu[i].mni);
	kfree(pd->mmu);
	pd->mmu = NULL;
	return err;
}

/* Before the pages are unpinned; may sleep. */
void pp_zc_mmu_unwatch(struct page_pool_zc_pd *pd)
{
	unsigned int i;

	if (!pd->mmu)
		return;
	for (i = 0; i < pd->nr_ranges; i++)
		mmu_interval_notifier_remove(&pd->mmu[i].mni);
	kfree(pd->mmu);
	pd->mmu = NULL;
}

static struct pp_zc_mmu_range *pp_zc_mmu_range(struct page_pool_zc_pd *pd,
					       unsigned long index)
{
	unsigned int i;

	for (i = 0; i < pd->nr_ranges; i++)
		if (index - pd->mmu[i].first < pd->ranges[i].npages)
			return &pd->mmu[i];
	return NULL;
}

/* Map @page for every device the PD is mapped for, in list order. */
static int pp_zc_dma_map_page(struct page_pool_zc_pd *pd, struct page *page,
			      dma_addr_t *addrs)
{
	struct pp_zc_dma_map *map;
	unsigned int n = 0;

	list_for_each_entry(map, &pd->dma_maps, node) {
		addrs[n] = dma_map_page_attrs(map->dev, page, 0, PAGE_SIZE,
					      map->dir, DMA_ATTR_SKIP_CPU_SYNC);
		if (dma_mapping_error(map->dev, addrs[n]))
			goto err_unmap;
		n++;
	}
	return 0;

err_unmap:
	list_for_each_entry_continue_reverse(map, &pd->dma_maps, node)
		dma_unmap_page_attrs(map->dev, addrs[--n], PAGE_SIZE, map->dir,
				     DMA_ATTR_SKIP_CPU_SYNC);
	return -ENOMEM;
}

static void pp_zc_dma_unmap_page(struct page_pool_zc_pd *pd,
				 const dma_addr_t *addrs)
{
	struct pp_zc_dma_map *map;
	unsigned int n = 0;

	list_for_each_entry(map, &pd->dma_maps, node)
		dma_unmap_page_attrs(map->dev, addrs[n++], PAGE_SIZE, map->dir,
				     DMA_ATTR_SKIP_CPU_SYNC);
}

/* Swap in @page and @addrs, if the page is idle and its mapping did not
 * change since @seq; @page and @addrs get what is to be released.
 */
static int pp_zc_mmu_swap(struct page_pool_zc_pd *pd,
			  struct pp_zc_mmu_range *r, unsigned long index,
			  unsigned long seq, struct page **page,
			  dma_addr_t *addrs)
{
	struct pp_zc_dma_map *map;
	unsigned int n = 0;
	int err = 0;

	spin_lock_bh(&pd->lock);
	if (!test_bit(index, pd->discarded))
		err = -EALREADY;	/* another consumer re-pinned it */
	else if (test_bit(index, pd->busy))
		err = -EBUSY;
	else if (mmu_interval_read_retry(&r->mni, seq))
		err = -EAGAIN;
	if (err)
		goto out_unlock;

	swap(pd->pages[index], *page);
	list_for_each_entry(map, &pd->dma_maps, node) {
		swap(map->addrs[index], addrs[n]);
		n++;
	}
	__clear_bit(index, pd->discarded);

out_unlock:
	spin_unlock_bh(&pd->lock);
	return err;
}

/* Pin the page mapped at @index's address and swap it in. */
static int pp_zc_repin(struct page_pool_zc_pd *pd, struct pp_zc_mmu_range *r,
		       unsigned long index)
{
	unsigned long uaddr = r->start + ((index - r->first) << PAGE_SHIFT);
	struct pp_zc_dma_map *map;
	unsigned int nr_maps = 0;
	dma_addr_t *addrs;
	struct page *page;
	unsigned long seq;
	int err;

	seq = mmu_interval_read_begin(&r->mni);
	if (pin_user_pages_fast(uaddr, 1, FOLL_WRITE | FOLL_LONGTERM,
				&page) != 1)
		return -EFAULT;

	mutex_lock(&pd->dma_lock);
	list_for_each_entry(map, &pd->dma_maps, node)
		nr_maps++;
	addrs = kmalloc_array(max(nr_maps, 1U), sizeof(*addrs), GFP_KERNEL);
	err = addrs ? pp_zc_dma_map_page(pd, page, addrs) : -ENOMEM;
	if (err)
		goto err_unlock;

	/* Swapped or not, @page and @addrs are what is released now. */
	err = pp_zc_mmu_swap(pd, r, index, seq, &page, addrs);
	pp_zc_dma_unmap_page(pd, addrs);
err_unlock:
	mutex_unlock(&pd->dma_lock);
	kfree(addrs);
	/* The page replaced is the one NICs wrote into. */
	unpin_user_pages_dirty_lock(&page, 1, !err);
	return err == -EALREADY ? 0 : err;
}

/**
 * page_pool_zc_repin_page() - pin the page the owner maps now, in place
 * of a discarded one
 * @pd: the PD, in page mode
 * @index: page index in the PD, of a page neither posted nor in a page_pool
 *
 * The page the owner's mapping holds at the address of @index replaces
 * the one pinned before, in every DMA mapping of the PD; the page can be
 * posted again. Called by the consumer from the owner's address space,
 * when page_pool_zc_post_page() returned -ESTALE.
 *
 * Context: process, may sleep; current->mm is the PD's owner's.
 * Return: 0, -EXDEV from another address space, -EBUSY if the page is
 * posted or in a page_pool, -EAGAIN if the mapping changed meanwhile,
 * -EFAULT if nothing pinnable is mapped there, -ENOMEM.
 */
int page_pool_zc_repin_page(struct page_pool_zc_pd *pd, unsigned long index)
{
	struct pp_zc_mmu_range *r;
	int err;

	if (current->mm != pd->mm || pd->mode != NETDEV_PD_MODE_PAGE)
		return -EXDEV;
	if (index >= pd->area.num_niovs)
		return -ERANGE;
	index = array_index_nospec(index, pd->area.num_niovs);
	if (!test_bit(index, pd->discarded))
		return 0;
	r = pp_zc_mmu_range(pd, index);
	if (WARN_ON_ONCE(!r))
		return -ERANGE;

	/* Pinning a page the owner only read (the zero page) breaks COW,
	 * which is a change of the mapping: try once more.
	 */
	err = pp_zc_repin(pd, r, index);
	if (err == -EAGAIN)
		err = pp_zc_repin(pd, r, index);
	return err;
}
EXPORT_SYMBOL_GPL(page_pool_zc_repin_page);

/**
 * page_pool_zc_page_discarded() - has the owner dropped a PD page?
 * @pd: the PD
 * @index: page index in the PD
 *
 * True once the owner's mapping no longer holds the page pinned at
 * pd-create at its address: what the NIC writes there, the owner cannot
 * read. A consumer that completes a frame in such a page copies it to the
 * owner's address, and it cannot be posted again before
 * page_pool_zc_repin_page().
 *
 * Return: true if the page at @index was discarded.
 */
bool page_pool_zc_page_discarded(const struct page_pool_zc_pd *pd,
				 unsigned long index)
{
	return index < pd->area.num_niovs && test_bit(index, pd->discarded);
}
EXPORT_SYMBOL_GPL(page_pool_zc_page_discarded);
