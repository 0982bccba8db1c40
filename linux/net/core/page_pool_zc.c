// SPDX-License-Identifier: GPL-2.0-only
/*
 * page_pool_zc: zero-copy receive into VM guest memory.
 *
 * A page_pool memory provider whose buffers are pages of one VM's guest
 * memory, grouped in a protection domain (PD). The provider, the PD
 * registry and the netlink interface are built here; drivers reach them
 * through include/net/page_pool/zc.h.
 */

#include <net/page_pool/zc.h>
