// SPDX-License-Identifier: GPL-2.0-only
/*
 * page_pool_zc: allocation and recycling cost of the provider against a
 * stock page_pool, measured side by side in one run.
 *
 * Write "IFINDEX QUEUE LOOPS" to /sys/kernel/debug/page_pool_zc/bench
 * (LOOPS at most 1000000: BHs stay off while a path is timed),
 * QUEUE being an RX queue bound to a protection domain, then read the
 * file. Two page_pools are created with the same parameters, one on the
 * bound queue (it takes its pages from the PD) and one stock, and for
 * each the time per page of three paths is measured with BHs disabled:
 *
 *  recycle  alloc + put from the NAPI context: the page goes to the
 *           pool's lockless cache and comes straight back;
 *  ring     64 allocs, then 64 puts from another context: the pages go
 *           through the pool's ptr_ring back to the cache;
 *  fill     allocs from an empty pool: the page comes from the provider
 *           (PD) or from the page allocator, and is DMA-mapped.
 *
 * Under QEMU with -icount shift=0 the clock counts guest instructions,
 * so the figures are instruction counts and repeat exactly.
 */

#include <linux/debugfs.h>
#include <linux/dma-mapping.h>
#include <linux/kernel.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <linux/sched/clock.h>
#include <linux/seq_buf.h>
#include <linux/slab.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/helpers.h>
#include <net/page_pool/zc.h>

#define PP_ZC_BENCH_BATCH	64
#define PP_ZC_BENCH_OUT		1024

static DEFINE_MUTEX(pp_zc_bench_lock);
static char pp_zc_bench_out[PP_ZC_BENCH_OUT];

struct pp_zc_bench_res {
	u64 recycle;
	u64 ring;
	u64 fill;
};

static struct device *pp_zc_bench_dma_dev(struct net_device *dev)
{
	struct device *d;

	for (d = dev->dev.parent; d; d = d->parent)
		if (d->dma_mask)
			return d;
	return NULL;
}

static struct page_pool *pp_zc_bench_pool(struct net_device *dev, u32 queue,
					  struct device *dma_dev, bool zc)
{
	struct page_pool_params pp = {
		.order		= 0,
		.flags		= PP_FLAG_DMA_MAP | PP_FLAG_DMA_SYNC_DEV,
		.pool_size	= 2 * PP_ZC_BENCH_BATCH,
		.nid		= NUMA_NO_NODE,
		.dev		= dma_dev,
		.dma_dir	= DMA_FROM_DEVICE,
		.max_len	= PAGE_SIZE,
	};

	if (zc) {
		pp.flags |= PP_FLAG_ALLOW_UNREADABLE_NETMEM;
		pp.netdev = dev;
		pp.queue_idx = queue;
	}
	return page_pool_create(&pp);
}

/* ns per page: alloc and put back into the cache (NAPI context). */
static u64 pp_zc_bench_recycle(struct page_pool *pool, u32 loops)
{
	netmem_ref netmem;
	u64 t0, t1;
	u32 i;

	t0 = local_clock();
	for (i = 0; i < loops; i++) {
		netmem = page_pool_alloc_netmems(pool, GFP_ATOMIC);
		if (unlikely(!netmem))
			return 0;
		page_pool_put_full_netmem(pool, netmem, true);
	}
	t1 = local_clock();
	return div_u64(t1 - t0, loops);
}

/* ns per page: a batch out, back through the ptr_ring, refilled. */
static u64 pp_zc_bench_ring(struct page_pool *pool, u32 loops)
{
	netmem_ref batch[PP_ZC_BENCH_BATCH];
	u32 i, j, rounds;
	u64 t0, t1;

	rounds = max(1U, loops / PP_ZC_BENCH_BATCH);
	t0 = local_clock();
	for (i = 0; i < rounds; i++) {
		for (j = 0; j < PP_ZC_BENCH_BATCH; j++) {
			batch[j] = page_pool_alloc_netmems(pool, GFP_ATOMIC);
			if (unlikely(!batch[j]))
				goto err_put;
		}
		for (j = 0; j < PP_ZC_BENCH_BATCH; j++)
			page_pool_put_full_netmem(pool, batch[j], false);
	}
	t1 = local_clock();
	return div_u64(t1 - t0, rounds * PP_ZC_BENCH_BATCH);

err_put:
	while (j--)
		page_pool_put_full_netmem(pool, batch[j], false);
	return 0;
}

/* ns per page: allocations from a new, empty pool. */
static u64 pp_zc_bench_fill(struct page_pool *pool)
{
	netmem_ref batch[PP_ZC_BENCH_BATCH];
	u64 t0, t1;
	u32 j;

	t0 = local_clock();
	for (j = 0; j < PP_ZC_BENCH_BATCH; j++) {
		batch[j] = page_pool_alloc_netmems(pool, GFP_ATOMIC);
		if (unlikely(!batch[j]))
			break;
	}
	t1 = local_clock();

	while (j--)
		page_pool_put_full_netmem(pool, batch[j], false);
	return div_u64(t1 - t0, PP_ZC_BENCH_BATCH);
}

static int pp_zc_bench_one(struct net_device *dev, u32 queue,
			   struct device *dma_dev, bool zc, u32 loops,
			   struct pp_zc_bench_res *res)
{
	struct page_pool *pool;

	rtnl_lock();
	pool = pp_zc_bench_pool(dev, queue, dma_dev, zc);
	rtnl_unlock();
	if (IS_ERR(pool))
		return PTR_ERR(pool);
	if (zc && !page_pool_is_zc(pool)) {
		page_pool_destroy(pool);
		return -ENOENT;
	}

	local_bh_disable();
	res->fill = pp_zc_bench_fill(pool);
	res->recycle = pp_zc_bench_recycle(pool, loops);
	res->ring = pp_zc_bench_ring(pool, loops);
	local_bh_enable();

	page_pool_destroy(pool);
	return res->fill && res->recycle && res->ring ? 0 : -ENOMEM;
}

static void pp_zc_bench_line(struct seq_buf *s, const char *name,
			     u64 stock, u64 zc)
{
	seq_buf_printf(s, "%-8s %10llu %10llu %6llu.%02llu\n", name, stock, zc,
		       div_u64(zc * 100, stock) / 100,
		       div_u64(zc * 100, stock) % 100);
}

static int pp_zc_bench(int ifindex, u32 queue, u32 loops)
{
	struct pp_zc_bench_res stock, zc;
	struct device *dma_dev;
	struct net_device *dev;
	struct seq_buf s;
	int err;

	dev = dev_get_by_index(current->nsproxy->net_ns, ifindex);
	if (!dev)
		return -ENODEV;
	dma_dev = pp_zc_bench_dma_dev(dev);
	err = -ENODEV;
	if (!dma_dev)
		goto out_put;

	if (queue >= dev->real_num_rx_queues)
		goto out_put;

	err = pp_zc_bench_one(dev, queue, dma_dev, false, loops, &stock);
	if (err)
		goto out_put;
	err = pp_zc_bench_one(dev, queue, dma_dev, true, loops, &zc);
	if (err)
		goto out_put;

	seq_buf_init(&s, pp_zc_bench_out, sizeof(pp_zc_bench_out));
	seq_buf_printf(&s, "# ns per page (instructions under -icount shift=0), %u loops\n",
		       loops);
	seq_buf_printf(&s, "%-8s %10s %10s %9s\n", "path", "stock", "provider",
		       "ratio");
	pp_zc_bench_line(&s, "recycle", stock.recycle, zc.recycle);
	pp_zc_bench_line(&s, "ring", stock.ring, zc.ring);
	pp_zc_bench_line(&s, "fill", stock.fill, zc.fill);

out_put:
	dev_put(dev);
	return err;
}

static ssize_t pp_zc_bench_write(struct file *file, const char __user *ubuf,
				 size_t len, loff_t *ppos)
{
	u32 queue, loops;
	char buf[64];
	int ifindex;
	int err;

	if (len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	if (sscanf(buf, "%d %u %u", &ifindex, &queue, &loops) != 3 ||
	    !loops || loops > 1000000)
		return -EINVAL;

	mutex_lock(&pp_zc_bench_lock);
	pp_zc_bench_out[0] = '\0';
	err = pp_zc_bench(ifindex, queue, loops);
	mutex_unlock(&pp_zc_bench_lock);

	return err ?: len;
}

static ssize_t pp_zc_bench_read(struct file *file, char __user *ubuf,
				size_t len, loff_t *ppos)
{
	ssize_t ret;

	mutex_lock(&pp_zc_bench_lock);
	ret = simple_read_from_buffer(ubuf, len, ppos, pp_zc_bench_out,
				      strlen(pp_zc_bench_out));
	mutex_unlock(&pp_zc_bench_lock);
	return ret;
}

static const struct file_operations pp_zc_bench_fops = {
	.owner	= THIS_MODULE,
	.read	= pp_zc_bench_read,
	.write	= pp_zc_bench_write,
	.llseek	= default_llseek,
};

static int __init pp_zc_bench_init(void)
{
	struct dentry *dir = debugfs_create_dir("page_pool_zc", NULL);

	debugfs_create_file("bench", 0600, dir, NULL, &pp_zc_bench_fops);
	return 0;
}
late_initcall(pp_zc_bench_init);
