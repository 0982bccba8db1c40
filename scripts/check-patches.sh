#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Review checks on the series, as a netdev maintainer would run them:
#   - scripts/checkpatch.pl --strict on every patch and every new file;
#   - scripts/kernel-doc -none -Wall on every new .c and .h, and a
#     kernel-doc comment for every symbol a new .c file exports;
#   - a W=1 build of the objects built from new .c files and from the .c
#     files the patches change (all W=1 clean on Debian's 6.12 as well, so
#     any warning is one of ours); mlx5's in the mlx5 flavour
#     (configs/mlx5.config) and fault injection's in the debug flavour,
#     as the base config has neither.
# Exits non-zero on any finding.

set -euo pipefail
. "$(dirname "$0")/lib.sh"

"$ZC_ROOT/scripts/kernel-source.sh"
bad=0
cp="$ZC_KSRC/scripts/checkpatch.pl --strict --quiet --no-summary --show-types"

while read -r p; do
	[ -z "$p" ] || [[ $p == \#* ]] && continue
	if ! (cd "$ZC_KSRC" && $cp "$ZC_ROOT/patches/$p"); then
		zc_log "checkpatch: patches/$p"
		bad=1
	fi
done <"$ZC_ROOT/patches/series"

mapfile -t new < <(cd "$ZC_ROOT/linux" && find . -type f -printf '%P\n' | LC_ALL=C sort)
objs=()
for f in "${new[@]}"; do
	case "$f" in
	*.c|*.h)
		if ! (cd "$ZC_KSRC" && $cp -f "$f"); then
			zc_log "checkpatch: linux/$f"
			bad=1
		fi
		out=$(cd "$ZC_KSRC" && scripts/kernel-doc -none -Wall "$f" 2>&1)
		if [ -n "$out" ]; then
			printf '%s\n' "$out"
			zc_log "kernel-doc: linux/$f"
			bad=1
		fi ;;
	esac
	case "$f" in
	*.c)
		objs+=("${f%.c}.o")
		for sym in $(sed -n 's/^EXPORT_SYMBOL[A-Z_]*(\([a-z0-9_]*\)).*/\1/p' "$ZC_ROOT/linux/$f"); do
			if ! grep -r -q -E "^ \* $sym\(\) - " "$ZC_ROOT/linux"; then
				zc_log "kernel-doc: linux/$f exports $sym without a kernel-doc comment"
				bad=1
			fi
		done ;;
	esac
done

while read -r f; do
	objs+=("${f%.c}.o")
done < <(sed -n 's|^+++ b/\(.*\.c\)$|\1|p' "$ZC_ROOT"/patches/*.patch | sort -u)

# mlx5 and fault injection are not in the base config: their objects
# build in the mlx5 and debug flavours.
base_objs=() mlx5_objs=() debug_objs=()
for o in "${objs[@]}"; do
	case "$o" in
	drivers/net/ethernet/mellanox/mlx5/*) mlx5_objs+=("$o") ;;
	lib/fault-inject.o) debug_objs+=("$o") ;;
	*) base_objs+=("$o") ;;
	esac
done
w1()
{
	local flavour=$1 out

	shift
	[ $# -gt 0 ] || return 0
	out=$("$ZC_ROOT/scripts/kernel-build.sh" "$flavour" W=1 "$@" 2>&1) || bad=1
	if grep -E 'warning:|error:' <<<"$out"; then
		zc_log "W=1: warnings in $*"
		bad=1
	fi
}
w1 base "${base_objs[@]}"
w1 mlx5 "${mlx5_objs[@]}"
w1 debug "${debug_objs[@]}"

[ $bad -eq 0 ] || zc_die "review checks failed"
zc_log "checkpatch, kernel-doc and W=1 clean"
