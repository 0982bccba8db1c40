// SPDX-License-Identifier: GPL-2.0-only
/*
 * page_pool_zc: taking a PD's pages back from the RX queues bound to it.
 *
 * Only a restart makes a queue let go of the pages in its ring and its
 * page_pool's caches: until then the NIC may write them. A restart
 * allocates, so it can fail; the queue then runs on with the PD's pages.
 * Such a queue is marked in pd->bound_rxqs and restarted again from
 * pd->reclaim_work until it succeeds, and whoever waits for the pages
 * (vhost-net, before it gives buffers back to the guest) asks
 * page_pool_zc_pd_reclaim_pending().
 */

#include <linux/error-injection.h>
#include <linux/netdevice.h>
#include <linux/rtnetlink.h>
#include <net/netdev_rx_queue.h>
#include <net/page_pool/memory_provider.h>

#include "page_pool_zc.h"

#define PP_ZC_RESTART_PENDING	XA_MARK_1
#define PP_ZC_RESTART_RETRY_MS	100

/* Every restart after pd-bind's: with @unbind, off the PD. */
static noinline int pp_zc_rxq_restart(struct page_pool_zc_pd *pd,
				      struct netdev_rx_queue *rxq, bool unbind)
{
	const struct pp_memory_provider_params p = {
		.mp_priv	= pd,
		.mp_ops		= &pp_zc_ops,
	};
	unsigned int idx = get_netdev_rx_queue_index(rxq);

	if (unbind)
		return __net_mp_try_close_rxq(rxq->dev, idx, &p);
	return netdev_rx_queue_restart(rxq->dev, idx);
}
ALLOW_ERROR_INJECTION(pp_zc_rxq_restart, ERRNO);

/**
 * pp_zc_unbind_rxq() - unbind one RX queue from a PD
 * @pd: the PD
 * @xa_idx: @rxq's index in @pd->bound_rxqs
 * @rxq: the queue
 *
 * Context: RTNL.
 * Return: 0, or the error of the restart: the queue then stays bound.
 */
int pp_zc_unbind_rxq(struct page_pool_zc_pd *pd, unsigned long xa_idx,
		     struct netdev_rx_queue *rxq)
{
	int err;

	ASSERT_RTNL();
	err = pp_zc_rxq_restart(pd, rxq, true);
	if (!err)
		xa_erase(&pd->bound_rxqs, xa_idx);
	return err;
}

static void pp_zc_reclaim_schedule(struct page_pool_zc_pd *pd)
{
	/* The work holds a reference while it is queued. Freezable: no
	 * restart runs while a driver suspends its queues.
	 */
	refcount_inc(&pd->refs);
	if (!queue_delayed_work(system_freezable_wq, &pd->reclaim_work,
				msecs_to_jiffies(PP_ZC_RESTART_RETRY_MS)))
		page_pool_zc_pd_put(pd);
}

/* Restart @rxq, or unbind it once the PD is closed; mark it on failure. */
static int pp_zc_rxq_take_back(struct page_pool_zc_pd *pd,
			       unsigned long xa_idx,
			       struct netdev_rx_queue *rxq)
{
	int err;

	if (pd->closed)
		err = pp_zc_unbind_rxq(pd, xa_idx, rxq);
	else
		err = pp_zc_rxq_restart(pd, rxq, false);
	if (!err) {
		xa_clear_mark(&pd->bound_rxqs, xa_idx, PP_ZC_RESTART_PENDING);
		return 0;
	}

	if (!xa_get_mark(&pd->bound_rxqs, xa_idx, PP_ZC_RESTART_PENDING))
		netdev_warn(rxq->dev,
			    "page_pool_zc: PD %u: restarting rx queue %u failed (%d): retrying, its pages stay the NIC's\n",
			    pd->id, get_netdev_rx_queue_index(rxq), err);
	xa_set_mark(&pd->bound_rxqs, xa_idx, PP_ZC_RESTART_PENDING);
	return err;
}

static void pp_zc_reclaim_work(struct work_struct *work)
{
	struct page_pool_zc_pd *pd;
	struct netdev_rx_queue *rxq;
	unsigned long xa_idx;

	pd = container_of(to_delayed_work(work), struct page_pool_zc_pd,
			  reclaim_work);
	rtnl_lock();
	xa_for_each_marked(&pd->bound_rxqs, xa_idx, rxq,
			   PP_ZC_RESTART_PENDING) {
		page_pool_zc_pd_count(pd, PP_ZC_STAT_RECLAIM_RETRY);
		pp_zc_rxq_take_back(pd, xa_idx, rxq);
	}
	if (xa_marked(&pd->bound_rxqs, PP_ZC_RESTART_PENDING))
		pp_zc_reclaim_schedule(pd);
	rtnl_unlock();
	page_pool_zc_pd_put(pd);
}

void pp_zc_reclaim_init(struct page_pool_zc_pd *pd)
{
	INIT_DELAYED_WORK(&pd->reclaim_work, pp_zc_reclaim_work);
}

/**
 * pp_zc_pd_close_rxqs() - unbind every queue of a PD whose owner is gone
 * @pd: the PD, closed
 *
 * A queue that fails to restart stays bound, receiving into @pd's pages,
 * and is unbound again from @pd's reclaim work until it succeeds.
 *
 * Context: RTNL.
 */
void pp_zc_pd_close_rxqs(struct page_pool_zc_pd *pd)
{
	struct netdev_rx_queue *rxq;
	unsigned long xa_idx;

	ASSERT_RTNL();
	xa_for_each(&pd->bound_rxqs, xa_idx, rxq)
		pp_zc_rxq_take_back(pd, xa_idx, rxq);
	if (xa_marked(&pd->bound_rxqs, PP_ZC_RESTART_PENDING))
		pp_zc_reclaim_schedule(pd);
}

/**
 * page_pool_zc_pd_reclaim() - take back the pages a PD's queues hold
 * @pd: the PD
 *
 * Restarts every RX queue bound to @pd (unbinds it, once @pd is closed):
 * the pages in their rings and page_pool caches go back to @pd (in page
 * mode: to the consumer), and the NIC writes none of them again until
 * they are posted again. Frames already received keep their pages until
 * they are consumed. A queue that fails to restart is restarted again
 * every 100 ms, each attempt counted in the PD's reclaim-retry, until it
 * succeeds.
 *
 * Context: process; takes RTNL.
 * Return: 0 if every queue restarted, -EAGAIN if the NIC may still write
 * pages of @pd that it held: see page_pool_zc_pd_reclaim_pending().
 */
int page_pool_zc_pd_reclaim(struct page_pool_zc_pd *pd)
{
	struct netdev_rx_queue *rxq;
	unsigned long xa_idx;
	int err = 0;

	rtnl_lock();
	xa_for_each(&pd->bound_rxqs, xa_idx, rxq)
		if (pp_zc_rxq_take_back(pd, xa_idx, rxq))
			err = -EAGAIN;
	if (err)
		pp_zc_reclaim_schedule(pd);
	rtnl_unlock();
	return err;
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_reclaim);

/**
 * page_pool_zc_pd_reclaim_pending() - may the NIC still write pages it held?
 * @pd: the PD
 *
 * Context: any; lockless, so a restart that just succeeded may still
 * read as pending.
 * Return: true while a queue of @pd whose restart failed has not been
 * restarted since: pages taken back with page_pool_zc_unpost_page()
 * returning -EBUSY may then still be in its ring or page_pool caches.
 */
bool page_pool_zc_pd_reclaim_pending(struct page_pool_zc_pd *pd)
{
	return xa_marked(&pd->bound_rxqs, PP_ZC_RESTART_PENDING);
}
EXPORT_SYMBOL_GPL(page_pool_zc_pd_reclaim_pending);
