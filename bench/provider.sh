#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Cost of the page_pool_zc provider against a stock page_pool, side by
# side in one run (net/core/page_pool_zc_bench.c). Runs in the VM:
#
#   scripts/vm-run.sh --icount -- bench/provider.sh [LOOPS]
#
# A PD owned by a helper process is bound to RX queue 0 of the virtio NIC;
# the kernel then creates a stock page_pool and one on the bound queue and
# times the same alloc/recycle loops on both. With -icount shift=0 the
# clock counts guest instructions, so the figures repeat exactly.

set -euo pipefail
. "$(dirname "$0")/../selftests/lib.sh"
trap - EXIT

loops=${1:-200000}
bench=/sys/kernel/debug/page_pool_zc/bench
[ -w "$bench" ] || zc_die "$bench missing: kernel without CONFIG_PAGE_POOL_ZC_BENCH"

nic=$(zc_nic) || zc_die "no virtio_net NIC"
ip link set "$nic" up
ifindex=$(cat "/sys/class/net/$nic/ifindex")

coproc holder { exec /usr/bin/python3 "$ZC_SELFTESTS/vm/pd_tool.py" hold --pages 1024 --bind "$ifindex:0"; }
read -r -u "${holder[0]}" word id
[ "$word" = id ] || zc_die "could not bind a PD to $nic queue 0: $word $id"

echo "$ifindex 0 $loops" >"$bench"
cat "$bench"
kill "$holder_PID"
