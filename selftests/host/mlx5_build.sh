#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# mlx5 is compile-tested only (no ConnectX device here): the driver's
# directory builds with the series, W=1 and sparse (C=1) without a single
# warning (Debian's 6.12 builds it clean with this config, so any warning
# is one of ours), and builds with CONFIG_PAGE_POOL_ZC disabled.
# The directory's objects are removed first so that every file is
# compiled (and checked) again; ccache keeps that cheap.

. "$(dirname "$0")/../lib.sh"

dir=drivers/net/ethernet/mellanox/mlx5/core

# build FLAVOUR MAKE-ARGS...: the mlx5 directory, its output on stdout
build()
{
	local flavour=$1

	shift
	rm -rf "$(zc_objdir "$flavour")/$dir"
	"$ZC_ROOT/scripts/kernel-build.sh" "$flavour" "$@" "$dir/" 2>&1
}

out=$(build mlx5 W=1 C=1)
rc=$?
check_eq "mlx5: builds with the series (W=1, sparse)" "$rc" 0
n=$(grep -c -E 'warning:|error:' <<<"$out")
[ "$n" -eq 0 ] || grep -E 'warning:|error:' <<<"$out" | head -20 | sed 's/^/  /'
check_eq "mlx5: no W=1 or sparse warnings" "$n" 0
check "mlx5: queue management ops and the page_pool_zc RX handler built" \
	sh -c "nm '$(zc_objdir mlx5)/$dir/en_main.o' | grep -q ' mlx5e_queue_mgmt_ops\$' &&
	       nm '$(zc_objdir mlx5)/$dir/en_rx.o' | grep -q ' mlx5e_handle_rx_cqe_zc\$'"

out=$(build mlx5+nozc W=1)
rc=$?
[ "$rc" -eq 0 ] || tail -20 <<<"$out" | sed 's/^/  /'
check_eq "mlx5: builds with CONFIG_PAGE_POOL_ZC disabled" "$rc" 0
n=$(grep -c -E 'warning:|error:' <<<"$out")
check_eq "mlx5: no W=1 warnings with CONFIG_PAGE_POOL_ZC disabled" "$n" 0
