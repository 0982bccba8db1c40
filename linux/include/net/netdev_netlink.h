/* SPDX-License-Identifier: GPL-2.0 */
#ifndef __NET_NETDEV_NETLINK_H
#define __NET_NETDEV_NETLINK_H

#include <linux/list.h>
#include <linux/mutex.h>

/**
 * struct netdev_nl_sock - per-socket state of the netdev netlink family
 * @lock: protects @pds
 * @bindings: devmem dma-buf bindings created on this socket (under RTNL)
 * @pds: page_pool_zc protection domains created on this socket
 */
struct netdev_nl_sock {
	struct mutex lock;		/* protects pds */
	struct list_head bindings;
	struct list_head pds;
};

#endif	/* __NET_NETDEV_NETLINK_H */
