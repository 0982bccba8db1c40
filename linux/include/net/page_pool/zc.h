/* SPDX-License-Identifier: GPL-2.0 */
/*
 * page_pool_zc: zero-copy receive into VM guest memory.
 *
 * Interface between the page_pool_zc memory provider and its users
 * (drivers, the XDP core, tun and vhost-net).
 */
#ifndef _NET_PAGE_POOL_ZC_H
#define _NET_PAGE_POOL_ZC_H

/**
 * DOC: page_pool_zc
 *
 * A page_pool memory provider that fills one RX queue with pages of one
 * VM's guest memory, a protection domain (PD). See
 * Documentation/networking/page_pool_zc.rst.
 */

#endif /* _NET_PAGE_POOL_ZC_H */
